"""The audit trail: who looked at or did what with patients' data, each entry chained.

Append-only: nothing in the bot updates or deletes an entry, and `feedback-bot audit
verify` finds one changed, deleted or inserted by other means (bot/domain/audit.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# BIGINT on PostgreSQL, INTEGER on SQLite, as in storage/schema.py.
_INT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create `audit_entries`."""
    op.create_table(
        "audit_entries",
        sa.Column("id", _INT, sa.Identity(), primary_key=True),
        sa.Column("at", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
    )
    op.create_index("audit_entries_by_time", "audit_entries", ["at"])
