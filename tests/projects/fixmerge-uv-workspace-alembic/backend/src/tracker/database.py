"""The database: TRACKER_DATABASE_URL, SQLite on the data volume unless set."""

import os

import sqlalchemy as sa

URL = os.environ.get("TRACKER_DATABASE_URL", "sqlite:////data/tracker.db")
engine = sa.create_engine(URL)
