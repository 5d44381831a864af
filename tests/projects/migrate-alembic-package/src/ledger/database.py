import os

import sqlalchemy as sa

URL = os.environ.get("LEDGER_DATABASE_URL", "sqlite:////data/ledger.db")
engine = sa.create_engine(URL)
