"""Recording who looked at or did what with patients' data, and checking the record."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TextIO

from bot.domain.audit import (
    GENESIS,
    RETENTION_ACTOR,
    Actor,
    AuditAction,
    AuditEntry,
    AuditHead,
    ChainBreak,
    StoredEntry,
    chained,
)
from bot.domain.export import spreadsheet_safe
from bot.services.ports import AuditTrail, Clock

AUDIT_COLUMNS = ("number", "at", "actor", "action", "subject", "detail", "hash")
DEFAULT_KEPT = timedelta(days=2190)
"""Six years, as HIPAA keeps its documentation (`FEEDBACK_AUDIT_RETENTION_DAYS`)."""


class AuditService:
    """Appends entries to the audit trail with the time, and verifies its chain."""

    def __init__(
        self,
        trail: AuditTrail,
        clock: Clock,
        *,
        kept: timedelta = DEFAULT_KEPT,
        zone: tzinfo = UTC,
    ) -> None:
        self._trail = trail
        self._clock = clock
        self._kept = kept
        self._zone = zone

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
        """How many entries were checked, and where the chain first fails (None: it holds).

        After retention the kept entries chain from the last one removed (the anchor).
        """
        anchor = await self._trail.anchor()
        previous, checked = (GENESIS, 0) if anchor is None else (anchor.hash, 0)
        async for stored in self._trail.chain():
            if chained(previous, stored.entry) != stored.hash:
                return checked, ChainBreak(stored.number)
            previous, checked = stored.hash, checked + 1
        return checked, None

    async def remove_expired(self) -> int:
        """Remove the entries kept their time (`FEEDBACK_AUDIT_RETENTION_DAYS`); how many.

        The removal is itself an entry, with the count and the cutoff.
        """
        cutoff = self._clock.now() - self._kept
        removed = await self._trail.remove_before(cutoff)
        if removed:
            detail = f"{removed} entries before {cutoff.date().isoformat()} removed"
            await self.record(RETENTION_ACTOR, AuditAction.AUDIT_PRUNED, detail=detail)
        return removed

    async def owe_head(self) -> AuditHead | None:
        """Owe the staff chat today's head (the clinic's day), once, and only if it moved."""
        now = self._clock.now()
        return await self._trail.owe_head(now.astimezone(self._zone).date(), now)


def audit_row(stored: StoredEntry) -> tuple[str, ...]:
    """An entry as a row of `AUDIT_COLUMNS`."""
    entry = stored.entry
    at = entry.at.isoformat(timespec="seconds")
    return (
        str(stored.number),
        at,
        entry.actor,
        entry.action,
        entry.subject,
        entry.detail,
        stored.hash,
    )


def write_audit_csv(entries: Iterable[StoredEntry], out: TextIO) -> int:
    """The entries as CSV, with a header; how many rows."""
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    rows = 0
    for stored in entries:
        # A provider's or a location's name comes from outside: never a formula.
        writer.writerow(spreadsheet_safe(cell) for cell in audit_row(stored))
        rows += 1
    return rows
