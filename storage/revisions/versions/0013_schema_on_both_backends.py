"""The schema as SQLite's migrations 1 to 13 left it, on both backends.

SQLite files get it from those migrations (`storage/migrations`, run before Alembic), so
here there is nothing to do for them. A new PostgreSQL database gets the same tables in
PostgreSQL's types: BIGINT for every integer (Telegram's ids exceed 32 bits), identity
columns for SQLite's integer primary keys, DOUBLE PRECISION for SQLite's REAL. Times stay
UTC ISO-8601 text on both, so that the stores compare and slice them the same way.
One column is PostgreSQL's alone: `responses.seq`, the order responses were stored in,
which SQLite has as the rowid (see `Database.insertion_order`).
"""

from __future__ import annotations

from importlib import resources

from alembic import op

revision = "0013"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables on PostgreSQL (SQLite has them already)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    ddl = resources.files("storage.revisions").joinpath("postgresql_0013.sql").read_text("utf-8")
    for statement in ddl.split(";"):
        if statement.strip():
            op.execute(statement)
