"""Daily totals per provider, treatment and location together, for the console's breakdowns.

Grouping a quarter's responses on every call took 0.2 s on a million answers (all of them
2.7 s; benchmarks/console_speed.py). The totals are rebuilt at the next start (the stored
basis is cleared), as when they were first added.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# BIGINT on PostgreSQL, INTEGER on SQLite, as in storage/schema.py.
_INT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_FIGURES = (
    "responses",
    "csat_count",
    "csat_sum",
    "nps_count",
    "nps_promoters",
    "nps_detractors",
)


def upgrade() -> None:
    """Create `daily_visit_groups`; have every day's totals built again."""
    op.create_table(
        "daily_visit_groups",
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("treatment", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        *(sa.Column(name, _INT, nullable=False, server_default=sa.text("0")) for name in _FIGURES),
        sa.PrimaryKeyConstraint("provider", "treatment", "location", "day"),
        sqlite_with_rowid=False,
    )
    op.create_index("daily_visit_groups_by_day", "daily_visit_groups", ["day"])
    op.execute("DELETE FROM report_basis")
