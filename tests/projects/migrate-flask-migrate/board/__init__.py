"""A notice board: an app factory, Flask-SQLAlchemy models, Flask-Migrate migrations."""

import os
from pathlib import Path

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
migrate = Migrate()


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get(
        "BOARD_DATABASE_URL", "sqlite:////data/board.db")
    db.init_app(app)
    migrate.init_app(app, db)
    # Where uploads go; the tests point it at a read-only path to see `shipyard test` explain.
    Path(os.environ.get("BOARD_UPLOADS", "/data/uploads")).mkdir(parents=True, exist_ok=True)

    from board.views import pages

    app.register_blueprint(pages)
    return app
