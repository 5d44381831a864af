import sqlite3

import click
from flask import current_app, g


def get_db():
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"])
        g.db.row_factory = sqlite3.Row
    return g.db


def close_db(error=None):
    database = g.pop("db", None)
    if database is not None:
        database.close()


@click.command("init-db")
def init_db_command():
    """Drop and recreate every table: run it once, before the first start."""
    with current_app.open_resource("schema.sql") as schema:
        get_db().executescript(schema.read().decode())
    click.echo("Initialized the database.")


def init_app(app):
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
