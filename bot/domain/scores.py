"""What a score means: the Net Promoter bands and when a CSAT rating counts as satisfied."""

from __future__ import annotations

NPS_PROMOTERS_FROM = 9
"""An NPS answer of 9 or 10 is a promoter's (Bain's definition, on the 0..10 scale)."""
NPS_DETRACTORS_UP_TO = 6
"""An NPS answer of 0 to 6 is a detractor's; 7 and 8 are passives'."""
CSAT_SATISFIED_FROM = 4
"""A CSAT rating of 4 or 5 on the 1..5 scale counts as satisfied (the top two boxes)."""
