import logging
import os
from logging.handlers import RotatingFileHandler

from config import Config
from flask import Flask


def create_app(config_class=Config):
    app = Flask(__name__)
    app.config.from_object(config_class)

    @app.get("/health")
    def health():
        app.logger.info("health asked")
        return {"status": "ok"}

    if not app.debug and not app.testing:
        if app.config["LOG_TO_STDOUT"]:
            stream_handler = logging.StreamHandler()
            stream_handler.setLevel(logging.INFO)
            app.logger.addHandler(stream_handler)
        else:
            if not os.path.exists("logs"):  # noqa: PTH110 - microblog's shape
                os.mkdir("logs")  # noqa: PTH102
            file_handler = RotatingFileHandler("logs/notes.log", maxBytes=10240, backupCount=3)
            file_handler.setLevel(logging.INFO)
            app.logger.addHandler(file_handler)
        app.logger.setLevel(logging.INFO)
        app.logger.info("notes startup")

    return app
