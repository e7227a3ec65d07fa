"""The console's comments about one provider (and treatment, and location), found quickly.

A provider's and treatment's fourth page of comments read every visit and then each of its
responses: 75 ms with SQLite on a million answers, 185 ms with PostgreSQL
(benchmarks/console_speed.py). Visits are indexed by their names, and `responses_by_visit`
also holds what the listing reads of a response.
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `visits_by_names`; widen `responses_by_visit`."""
    op.create_index("visits_by_names", "visits", ["provider", "treatment", "location"])
    op.drop_index("responses_by_visit", "responses")
    op.create_index("responses_by_visit", "responses", ["visit_id", "id", "patient_id"])
