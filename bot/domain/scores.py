"""What a score means: the Net Promoter bands and when a CSAT rating counts as satisfied."""

from __future__ import annotations

NPS_PROMOTERS_FROM = 9
"""An NPS answer of 9 or 10 is a promoter's (Bain's definition, on the 0..10 scale)."""
NPS_DETRACTORS_UP_TO = 6
"""An NPS answer of 0 to 6 is a detractor's; 7 and 8 are passives'."""

DEFAULT_RATING_SCALE = range(1, 6)
"""A rating question's scale unless its survey says otherwise: 1 to 5."""
TOP_BOXES = 2
"""How many of a scale's highest values count as satisfied (4 and 5 of 1..5)."""
SMALLEST_TOP_TWO_SCALE = 4
"""On a scale of fewer values (1..3), only the highest one counts."""


def satisfied_from(scale: range) -> int:
    """The lowest CSAT rating on `scale` that counts as satisfied: the top two boxes."""
    boxes = TOP_BOXES if len(scale) >= SMALLEST_TOP_TWO_SCALE else 1
    return scale[-boxes]


def net_promoter_score(promoters: int, passives: int, detractors: int) -> float | None:
    """% promoters minus % detractors, -100..100 (`None` without an answer)."""
    answers = promoters + passives + detractors
    return 100 * (promoters - detractors) / answers if answers else None
