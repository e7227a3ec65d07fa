"""What the bot owes patients besides questions: thanks, safety advice, staff replies.

Each is written to the store with the answer (or the staff reply) that creates it and
delivered from there; this service says which are due and records what became of each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.models import OwedNotice
from bot.domain.schedule import backoff
from bot.services.ports import Clock, PatientNotices

# Older than a day, an owed notice (a thanks, advice that has been overtaken by the clinic's
# call) is dropped.
NOTICE_KEPT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DueNotice:
    """An owed notice and the language to word it in."""

    notice: OwedNotice
    language: str


class NoticeService:
    """Owed notices: which are due now, and whether each arrived, never will, or waits."""

    def __init__(
        self,
        store: PatientNotices,
        clock: Clock,
        pick_language: Callable[[str | None, str | None], str],
    ) -> None:
        self._store = store
        self._clock = clock
        self._pick_language = pick_language

    async def due_notices(self, external_id: int | None = None) -> list[DueNotice]:
        """Notices to deliver now (to one patient, or everyone); a day old, they are dropped."""
        now = self._clock.now()
        due = []
        for notice in await self._store.owed_notices(due_by=now, external_id=external_id):
            if now - notice.created_at > NOTICE_KEPT:
                await self._store.notice_done(notice.id, now, arrived=False)
                continue
            due.append(DueNotice(notice, self._pick_language(notice.chosen_language, None)))
        return due

    async def notice_delivered(self, notice: OwedNotice) -> None:
        """The patient has the notice."""
        await self._store.notice_done(notice.id, self._clock.now(), arrived=True)

    async def notice_refused(self, notice: OwedNotice) -> None:
        """Telegram will never deliver it (the patient blocked the bot, say): drop it."""
        await self._store.notice_done(notice.id, self._clock.now(), arrived=False)

    async def notice_failed(self, notice: OwedNotice, retry_after: float | None) -> datetime:
        """Try again later: after `retry_after` seconds if Telegram said so, else back off."""
        failures = notice.failed_attempts + 1
        wait = timedelta(seconds=retry_after) if retry_after is not None else backoff(failures)
        until = self._clock.now() + wait
        await self._store.postpone_notice(notice.id, until, failures)
        return until
