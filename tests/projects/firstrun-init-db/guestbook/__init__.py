import os

from flask import Flask, request


def create_app():
    app = Flask(__name__, instance_relative_config=True)
    database = os.path.join(app.instance_path, "guestbook.sqlite")  # noqa: PTH118
    app.config.from_mapping(DATABASE=database)
    app.config.from_pyfile("config.py", silent=True)
    os.makedirs(app.instance_path, exist_ok=True)  # noqa: PTH103 - the Flask tutorial's shape

    from . import db

    db.init_app(app)

    @app.get("/")
    def index():
        rows = db.get_db().execute("SELECT who FROM entry ORDER BY id").fetchall()
        return {"entries": [row["who"] for row in rows]}

    @app.post("/sign")
    def sign():
        database = db.get_db()
        database.execute("INSERT INTO entry (who) VALUES (?)", (request.form["who"],))
        database.commit()
        return {"signed": request.form["who"]}, 201

    return app
