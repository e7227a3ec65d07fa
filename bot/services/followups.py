"""Follow-ups weeks after a visit: sent on time, politely, once, and never lost."""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.domain.flow import Step, next_step
from bot.domain.models import Followup, FollowupStatus
from bot.domain.schedule import FollowupPolicy
from bot.domain.surveys import SurveyCatalog
from bot.services.ports import Clock, FollowupResponses

logger = logging.getLogger(__name__)


class SendResult(StrEnum):
    """What happened to one follow-up message."""

    SENT = "sent"
    UNREACHABLE = "unreachable"
    """The patient blocked the bot (or the chat is gone): never retry."""
    FAILED = "failed"
    """Not delivered (network): try again later."""


class FollowupSender(Protocol):
    """Delivers follow-up messages within Telegram's limits (the Telegram adapter)."""

    async def send_followup(
        self, followup: Followup, step: Step, response_id: str, *, reminder: bool
    ) -> SendResult:
        """Send the follow-up's question (or a reminder of it) to the patient."""
        ...


class FollowupStore(Protocol):
    """Where follow-ups are kept (see storage/followups.py for the states)."""

    async def due(self, now: datetime, gap_start: datetime, limit: int) -> list[Followup]:
        """Scheduled follow-ups that may be sent now."""
        ...

    async def reminders_due(
        self, sent_before: datetime, gap_start: datetime, limit: int
    ) -> list[Followup]:
        """Unanswered follow-ups due a reminder."""
        ...

    async def claim(self, followup: Followup, response_id: str, now: datetime) -> bool:
        """Start the follow-up's response before sending; `False` if not possible now."""
        ...

    async def mark_sent(self, followup: Followup, now: datetime) -> None:
        """Record the delivery."""
        ...

    async def release(self, followup: Followup, retry_at: datetime) -> None:
        """Undo a claim whose message was not delivered."""
        ...

    async def claim_reminder(self, followup: Followup, now: datetime, gap_start: datetime) -> bool:
        """Take the follow-up's one reminder."""
        ...

    async def block(self, followup: Followup, now: datetime) -> None:
        """The patient blocked the bot."""
        ...

    async def expire(self, now: datetime, answered_by: datetime) -> int:
        """Drop what can no longer be sent or answered in time."""
        ...

    async def recover_interrupted(self, now: datetime) -> int:
        """Settle claims a crash left behind."""
        ...

    async def stop_patient(self, external_id: int, now: datetime) -> int | None:
        """No more follow-ups for this patient."""
        ...

    async def resume_patient(self, external_id: int) -> bool:
        """Allow follow-ups again."""
        ...

    async def counts(self) -> Counter[FollowupStatus]:
        """How many follow-ups are in each state."""
        ...

    async def listing(self, limit: int) -> list[Followup]:
        """Follow-ups for staff, open ones first."""
        ...


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """What one round of dispatching did."""

    sent: int = 0
    reminded: int = 0
    blocked: int = 0
    failed: int = 0
    expired: int = 0
    quiet_hours: bool = False


class FollowupService:
    """Sends due follow-ups and reminders, in daytime, at most one a week per patient."""

    def __init__(  # noqa: PLR0913 - its collaborators and the clinic's rules, each named
        self,
        store: FollowupStore,
        responses: FollowupResponses,
        sender: FollowupSender,
        surveys: SurveyCatalog,
        clock: Clock,
        *,
        policy: FollowupPolicy,
    ) -> None:
        self._store = store
        self._responses = responses
        self._sender = sender
        self._surveys = surveys
        self._clock = clock
        self._policy = policy

    async def recover(self) -> int:
        """At start-up: claims interrupted by a crash count as sent."""
        return await self._store.recover_interrupted(self._clock.now())

    async def dispatch(self) -> DispatchReport:
        """One round: expire what is too late, then send what is due, then reminders."""
        now = self._clock.now()
        expired = await self._store.expire(now, now - self._policy.answer_window)
        if not self._policy.send_hours.allows(now):
            return DispatchReport(expired=expired, quiet_hours=True)
        counts: Counter[SendResult] = Counter()
        gap_start = now - self._policy.gap
        for followup in await self._store.due(now, gap_start, self._policy.batch):
            response_id = secrets.token_urlsafe(9)
            if not await self._store.claim(followup, response_id, now):
                continue  # the patient is in another survey: next round
            step = self._first_step(followup)
            result = await self._sender.send_followup(followup, step, response_id, reminder=False)
            counts[result] += 1
            await self._settle(followup, result)
            if result is SendResult.SENT:
                # No message id: the follow-up sender does not report Telegram's.
                await self._responses.mark_asked(response_id, step.question.id, None)
        reminded = await self._remind(now, gap_start)
        report = DispatchReport(
            sent=counts[SendResult.SENT],
            reminded=reminded,
            blocked=counts[SendResult.UNREACHABLE],
            failed=counts[SendResult.FAILED],
            expired=expired,
        )
        if report.sent or report.reminded or report.blocked or report.failed:
            logger.info("follow-ups: %s", report)
        return report

    async def _remind(self, now: datetime, gap_start: datetime) -> int:
        """Send the reminders that are due; returns how many went out."""
        reminded = 0
        sent_before = now - self._policy.reminder_after
        for followup in await self._store.reminders_due(
            sent_before, gap_start, self._policy.batch
        ):
            current = await self._current_step(followup)
            if current is None or followup.response_id is None:
                continue
            if not await self._store.claim_reminder(followup, now, gap_start):
                continue
            result = await self._sender.send_followup(
                followup, current, followup.response_id, reminder=True
            )
            if result is SendResult.UNREACHABLE:
                await self._store.block(followup, self._clock.now())
            if result is SendResult.SENT:
                await self._responses.mark_asked(followup.response_id, current.question.id, None)
                reminded += 1
        return reminded

    async def stop(self, external_id: int) -> int | None:
        """/stop: how many scheduled follow-ups were cancelled (`None`: not a patient)."""
        return await self._store.stop_patient(external_id, self._clock.now())

    async def resume(self, external_id: int) -> bool:
        """Follow-ups allowed again for visits from now on."""
        return await self._store.resume_patient(external_id)

    async def overview(self, limit: int = 50) -> tuple[Counter[FollowupStatus], list[Followup]]:
        """Counts by state and the follow-ups staff most likely want to see."""
        return await self._store.counts(), await self._store.listing(limit)

    async def _settle(self, followup: Followup, result: SendResult) -> None:
        now = self._clock.now()
        if result is SendResult.SENT:
            await self._store.mark_sent(followup, now)
        elif result is SendResult.UNREACHABLE:
            await self._store.block(followup, now)
        else:
            delay = self._policy.retry_after * 2 ** min(followup.attempts, 6)
            await self._store.release(followup, now + delay)

    def _language(self, followup: Followup) -> str:
        return followup.language or self._surveys.default_language

    def _first_step(self, followup: Followup) -> Step:
        survey = self._surveys.get(followup.survey_id)
        step = (
            None
            if survey is None
            else next_step(survey, {}, self._language(followup), self._surveys.default_language)
        )
        if step is None:  # pragma: no cover - load_catalog checks follow-up surveys exist
            raise LookupError(f"follow-up survey {followup.survey_id!r} is not defined")
        return step

    async def _current_step(self, followup: Followup) -> Step | None:
        if followup.response_id is None:
            return None
        response = await self._responses.get_response(followup.response_id)
        survey = self._surveys.get(followup.survey_id)
        if response is None or survey is None:
            return None
        return next_step(
            survey, response.values, self._language(followup), self._surveys.default_language
        )
