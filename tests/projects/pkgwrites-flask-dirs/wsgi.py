import os

# `flask run` brings its own server: no monkey-patching there.
if not os.getenv("FLASK_RUN_FROM_CLI"):
    from gevent import monkey

    monkey.patch_all()

from board import create_app

app = create_app()
