"""Where the kept audit trail begins after retention, and its head owed to the staff chat.

`audit_anchor`: the last entry `FEEDBACK_AUDIT_RETENTION_DAYS` removed (one row at most),
which the first kept entry must chain from. `audit_heads`: the trail's head, once a day,
written before it is posted so that an outage delays it and never loses it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# BIGINT on PostgreSQL, INTEGER on SQLite, as in storage/schema.py.
_INT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create `audit_anchor` and `audit_heads`."""
    op.create_table(
        "audit_anchor",
        sa.Column("id", _INT, primary_key=True, autoincrement=False),
        sa.Column("number", _INT, nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.CheckConstraint("id = 1"),
    )
    op.create_table(
        "audit_heads",
        sa.Column("day", sa.Text(), primary_key=True),
        sa.Column("number", _INT, nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("next_attempt_at", sa.Text(), nullable=False),
        sa.Column("failed_attempts", _INT, nullable=False, server_default=sa.text("0")),
        sa.Column("posted_at", sa.Text()),
    )
