from flask import Blueprint, jsonify

from board import db
from board.models import Notice

pages = Blueprint("pages", __name__)


@pages.get("/healthz")
def health():
    return jsonify(status="ok")


@pages.get("/")
def notices():
    """Reads the table the migration created (and the row it seeded)."""
    rows = db.session.execute(db.select(Notice).order_by(Notice.id)).scalars()
    return jsonify(notices=[row.text for row in rows])
