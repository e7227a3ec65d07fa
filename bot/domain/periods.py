"""The periods staff ask about: plain values, cheap to import (the command line's choices)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class Period(StrEnum):
    """The windows `/summary` accepts."""

    DAYS_7 = "7d"
    DAYS_30 = "30d"
    DAYS_90 = "90d"
    ALL = "all"

    def since(self, now: datetime) -> datetime | None:
        """The start of the window ending at `now` (`None`: since the beginning)."""
        days = {Period.DAYS_7: 7, Period.DAYS_30: 30, Period.DAYS_90: 90}.get(self)
        return None if days is None else now - timedelta(days=days)


__all__ = ["Period"]
