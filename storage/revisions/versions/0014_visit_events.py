"""Visits announced by a booking system through the intake API, once per event.

The booking system's event id is kept with the invitation it made, so that the same event
sent again (a retry, a second delivery) answers with that invitation and makes no other.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# BIGINT on PostgreSQL, INTEGER on SQLite, as in storage/schema.py.
_INT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create `visit_events`."""
    op.create_table(
        "visit_events",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("received_at", sa.Text(), nullable=False),
        sa.Column(
            "visit_id", _INT, sa.ForeignKey("visits.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("delivery", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source", "event_id"),
        sa.CheckConstraint("delivery IN ('telegram', 'email', 'none')"),
    )
    op.create_index("visit_events_by_receipt", "visit_events", ["received_at"])
    op.create_index("visit_events_visit", "visit_events", ["visit_id"])
