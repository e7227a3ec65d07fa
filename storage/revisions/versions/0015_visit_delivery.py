"""Visits delivered by the bot: returning patients linked to their chat, e-mail invitations.

`visit_events.patient_ref` keeps the booking system's patient id; `patient_links` maps it to
the patient who agreed through one of its invitations; `invitation_mail` is the outbox of
e-mail invitations (the address is erased once a server accepts the message).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# BIGINT on PostgreSQL, INTEGER on SQLite, as in storage/schema.py.
_INT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add `visit_events.patient_ref`, `patient_links` and `invitation_mail`."""
    op.add_column("visit_events", sa.Column("patient_ref", sa.Text(), nullable=True))
    op.create_index(
        "visit_events_by_patient", "visit_events", ["source", "patient_ref", "received_at"]
    )
    op.create_table(
        "patient_links",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("patient_ref", sa.Text(), nullable=False),
        sa.Column(
            "patient_id", _INT, sa.ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("linked_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source", "patient_ref"),
    )
    op.create_index("patient_links_patient", "patient_links", ["patient_id"])
    op.create_table(
        "invitation_mail",
        sa.Column(
            "visit_id", _INT, sa.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("due_at", sa.Text(), nullable=False),
        sa.Column("attempts", _INT, nullable=False, server_default=sa.text("0")),
        sa.Column("claimed_at", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('held', 'due', 'sending', 'sent', 'refused', 'dropped')"),
    )
    op.create_index("invitation_mail_due", "invitation_mail", ["status", "due_at"])
