"""The console lists comments newest first: an index of answers by kind and time.

Without it, each page of comments sorted every text answer ever given (0.9 s on a million
answers, benchmarks/console_speed.py).
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `answers_by_kind`."""
    op.create_index("answers_by_kind", "answers", ["value_kind", "answered_at"])
