"""Recording who looked at or did what with patients' data, and checking the record."""

from __future__ import annotations

from datetime import datetime

from bot.domain.audit import (
    GENESIS,
    Actor,
    AuditAction,
    AuditEntry,
    ChainBreak,
    StoredEntry,
    chained,
)
from bot.services.ports import AuditTrail, Clock


class AuditService:
    """Appends entries to the audit trail with the time, and verifies its chain."""

    def __init__(self, trail: AuditTrail, clock: Clock) -> None:
        self._trail = trail
        self._clock = clock

    async def record(
        self, actor: Actor, action: AuditAction, subject: str = "", detail: str = ""
    ) -> None:
        """Add one entry: pseudonyms, case numbers, periods and counts; never patient text."""
        now = self._clock.now()
        await self._trail.append(AuditEntry(now, str(actor), action.value, subject, detail))

    async def entries(
        self, since: datetime | None = None, actor: str | None = None
    ) -> list[StoredEntry]:
        """Entries in order, from `since` on, by `actor` alone if given."""
        return await self._trail.entries(since, actor)

    async def verify(self) -> tuple[int, ChainBreak | None]:
        """How many entries were checked, and where the chain first fails (None: it holds)."""
        previous, checked = GENESIS, 0
        async for stored in self._trail.chain():
            if chained(previous, stored.entry) != stored.hash:
                return checked, ChainBreak(stored.number)
            previous, checked = stored.hash, checked + 1
        return checked, None
