"""The staff's side: alerts, summaries and exports."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import logging
from collections.abc import AsyncGenerator, Awaitable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TextIO, TypeVar, assert_never

from bot.domain.export import ExportColumn, csv_header, csv_row, response_record
from bot.domain.models import (
    CommentFilter,
    CommentPage,
    PendingAlert,
    Response,
    Summary,
    VisitGroup,
)
from bot.domain.periods import Period
from bot.domain.schedule import backoff
from bot.domain.surveys import QuestionType, ScoreQuestions, SurveyCatalog
from bot.domain.trend import Trend, TrendPeriod, build_trend
from bot.services.ports import (
    AlertSender,
    AlertStore,
    AuditTrail,
    Clock,
    Edited,
    MessageGone,
    Posted,
    ReportStore,
    TryLater,
)

logger = logging.getLogger(__name__)
_Outcome = TypeVar("_Outcome", Posted | TryLater, Edited | MessageGone | TryLater)


# Alerts read from the outbox at a time.
PAGE = 20
COMMENTS_PAGE = 50
"""Comments the console shows at a time."""
COUNTED_UP_TO = 1000
"""Comments a search counts exactly; past this many it says "more than"."""


class AlertService:
    """The outbox's sender: delivers alerts from the store to staff, in the background.

    Alerts are written in the same transaction as the answer that raised them, so an alert
    is never lost to a crash or an outage. `run` delivers them independently of every other
    message: a patient who blocked the bot, or a reply that fails, never holds an alert
    back. `wake` says a new alert is waiting; anything not delivered is retried with back-off
    (and after Telegram's `retry_after`, for every alert) until staff have it.
    """

    def __init__(
        self,
        store: AlertStore,
        sender: AlertSender,
        clock: Clock,
        *,
        check_every: float = 5.0,
        audit_trail: AuditTrail | None = None,
    ) -> None:
        self._store = store
        self._sender = sender
        self._clock = clock
        self._check_every = check_every
        self._audit_trail = audit_trail
        self._woken = asyncio.Event()
        self._paused_until: datetime | None = None
        # `run` and a direct call may overlap; one at a time sends each alert once.
        self._delivering = asyncio.Lock()

    def wake(self) -> None:
        """A new or changed alert is waiting: deliver it now rather than at the next check."""
        self._woken.set()

    async def run(self) -> None:
        """Deliver what is due, then wait to be woken or for the next check; until cancelled.

        The first round, at start-up, tries every pending alert: whatever kept one back
        before a restart may be over.
        """
        first = True
        while True:
            self._woken.clear()
            try:
                await self.deliver_pending(everything=first)
                first = False
            except Exception:  # the database, most likely: try again at the next check
                logger.exception("delivering alerts failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self._check_every)

    async def deliver_pending(self, *, everything: bool = False) -> int:
        """Send new alerts and update changed ones that are due; returns how many arrived.

        `everything`: every pending alert, whenever its next attempt was planned.
        """
        async with self._delivering:
            now = self._clock.now()
            if self._paused_until is not None and now < self._paused_until:
                return 0
            due_by = None if everything else now
            delivered, flooded = await self._deliver_alerts(due_by, now)
            if not flooded:
                flooded = await self._deliver_relays(due_by, now)
            if not flooded:
                # Alerts first: staff need to act on them; a blanked message can wait.
                flooded = await self._deliver_redactions(due_by, now)
            if not flooded:
                await self._deliver_audit_heads(due_by, now)
            return delivered

    async def _deliver_alerts(self, due_by: datetime | None, now: datetime) -> tuple[int, bool]:
        """How many alerts arrived, and whether flood control stopped the round."""
        delivered, after_id = 0, 0
        while True:
            # A page at a time: with a long backlog (an outage) the first alerts go out at
            # once instead of after every pending one has been read.
            page = await self._store.pending_alerts(due_by, after_id=after_id, limit=PAGE)
            for alert in page:
                outcome = await self._deliver(alert, now)
                if outcome is None:
                    delivered += 1
                    continue
                failures = alert.failed_attempts + 1
                until = self._next_try(outcome, failures, now)
                maybe_sent = alert.maybe_sent or outcome.maybe_sent
                await self._store.postpone(alert.id, until, failures, maybe_sent=maybe_sent)
                logger.warning(
                    "alert %s not delivered (attempt %d); next try at %s",
                    alert.id,
                    failures,
                    until.isoformat(timespec="seconds"),
                )
                if outcome.retry_after is not None:
                    return delivered, True
            if len(page) < PAGE:
                return delivered, False
            after_id = page[-1].id

    async def _deliver_relays(self, due_by: datetime | None, now: datetime) -> bool:
        """Post patients' answers to staff replies; whether flood control stopped it."""
        for relay in await self._store.pending_relays(due_by):
            posted = await self._attempt(self._sender.relay(relay))
            match posted:
                case Posted(message_id):
                    await self._store.relay_posted(relay.id, message_id)
                case TryLater():
                    failures = relay.failed_attempts + 1
                    until = self._next_try(posted, failures, now)
                    await self._store.postpone_relay(relay.id, until, failures)
                    if posted.retry_after is not None:
                        return True
                case _:
                    assert_never(posted)
        return False

    async def _deliver_redactions(self, due_by: datetime | None, now: datetime) -> bool:
        """Blank erased patients' alerts; whether flood control stopped it."""
        for redaction in await self._store.pending_redactions(due_by):
            blanked = await self._attempt(self._sender.redact(redaction.message_id))
            match blanked:
                case Edited() | MessageGone():
                    await self._store.redaction_done(redaction.message_id)
                case TryLater():
                    failures = redaction.failed_attempts + 1
                    until = self._next_try(blanked, failures, now)
                    await self._store.postpone_redaction(redaction.message_id, until, failures)
                    if blanked.retry_after is not None:
                        return True
                case _:
                    assert_never(blanked)
        return False

    async def _deliver_audit_heads(self, due_by: datetime | None, now: datetime) -> None:
        if self._audit_trail is None:
            return
        for head in await self._audit_trail.owed_heads(due_by):
            posted = await self._attempt(self._sender.audit_head(head))
            match posted:
                case Posted():
                    await self._audit_trail.head_posted(head.day, now)
                case TryLater():
                    failures = head.failed_attempts + 1
                    until = self._next_try(posted, failures, now)
                    await self._audit_trail.postpone_head(head.day, until, failures)
                    if posted.retry_after is not None:
                        return
                case _:
                    assert_never(posted)

    def _next_try(self, outcome: TryLater, failures: int, now: datetime) -> datetime:
        if outcome.retry_after is None:
            return now + backoff(failures)
        # Flood control holds for every message to the chat, not just this one.
        self._paused_until = now + timedelta(seconds=outcome.retry_after)
        return self._paused_until

    async def _deliver(self, alert: PendingAlert, now: datetime) -> TryLater | None:
        """Deliver one alert; `None` once staff have its latest version."""
        if alert.staff_message_id is not None:
            edited = await self._attempt(self._sender.update(alert, alert.staff_message_id, now))
            match edited:
                case Edited():
                    await self._store.mark_delivered(
                        alert.id,
                        alert.staff_message_id,
                        alert.version,
                        maybe_repeat=alert.maybe_sent,
                    )
                    return None
                case TryLater():
                    return edited
                case MessageGone():
                    logger.info("alert %s: its staff message is gone; posting it again", alert.id)
                    await self._store.forget_message(alert.id)
                    alert = replace(alert, staff_message_id=None)
                case _:
                    assert_never(edited)
        # Recorded first: a crash between the send and `mark_delivered` leaves the alert
        # pending and marked, so its next copy says it may be a repeat.
        await self._store.mark_sending(alert.id)
        posted = await self._attempt(self._sender.send(alert, now))
        match posted:
            case Posted(message_id):
                # A copy sent after an unconfirmed one says so for good, edits included.
                await self._store.mark_delivered(
                    alert.id, message_id, alert.version, maybe_repeat=alert.maybe_sent
                )
                return None
            case TryLater():
                return posted
            case _:
                assert_never(posted)

    async def _attempt(self, delivery: Awaitable[_Outcome]) -> _Outcome | TryLater:
        try:
            return await delivery
        except Exception:  # a bug must not stop the outbox: log it and back off
            logger.exception("delivering an alert failed unexpectedly")
            return TryLater()


class ReportService:
    """Summaries and exports over stored responses."""

    def __init__(
        self,
        store: ReportStore,
        clock: Clock,
        scores: ScoreQuestions,
        followup_surveys: frozenset[str] = frozenset(),
        zone: tzinfo = UTC,
    ) -> None:
        self._store = store
        self._clock = clock
        self._scores = scores
        self._followup_surveys = followup_surveys
        self._zone = zone

    async def totals_due(self) -> bool:
        """Whether `prepare` has the daily totals to build (a while, on years of answers)."""
        return await self._store.totals_due(self._scores)

    async def prepare(self) -> bool:
        """Build the daily totals if they need it (after an upgrade, or a moved score)."""
        return await self._store.prepare(self._scores)

    async def trend(self, period: TrendPeriod) -> Trend:
        """CSAT and NPS per week or month, up to today (UTC days)."""
        today = self._clock.now().astimezone(UTC).date()
        first = period.starts(today)[0]
        days = await self._store.daily_figures(first, self._scores)
        return build_trend(period, today, days, self._followup_surveys)

    def now(self) -> datetime:
        """The present, by the clock reports are measured with."""
        return self._clock.now()

    async def summary(self, period: Period) -> Summary:
        """Aggregates over the responses started in the period ending now."""
        return await self._store.summary(period, period.since(self._clock.now()), self._scores)

    async def comments(self, wanted: CommentFilter, page: int) -> CommentPage:
        """Page `page` (from 0) of the comments the filter finds, newest first."""
        return await self._store.comments(
            wanted, COMMENTS_PAGE, page * COMMENTS_PAGE, count_up_to=COUNTED_UP_TO
        )

    async def visit_groups(self, period: Period) -> list[VisitGroup]:
        """Each provider, treatment and location together, over the period; largest first."""
        since = period.since(self._clock.now())
        return await self._store.visit_groups(since, self._scores)

    async def visit_names(self) -> tuple[list[str], list[str]]:
        """The providers and the locations visits name, to filter by."""
        return await self._store.visit_names()

    async def export_columns(self, surveys: SurveyCatalog) -> list[ExportColumn]:
        """Answer columns for a flat export: the surveys' questions, then any others answered.

        Questions removed from the survey file keep their columns while answers to them exist.
        """
        answered = await self._store.answered_questions()
        columns: dict[str, bool] = {}
        for survey in surveys.surveys:
            for question in survey.questions:
                has_sentiment = question.type is QuestionType.TEXT
                columns[question.id] = columns.get(question.id, False) or has_sentiment
        for question_id, has_sentiment in answered.items():
            columns[question_id] = columns.get(question_id, False) or has_sentiment
        return [ExportColumn(qid, has_sentiment) for qid, has_sentiment in columns.items()]

    def responses(self, since: datetime | None = None) -> AsyncGenerator[Response, None]:
        """Every response started since `since` (all if `None`), oldest first."""
        return self._store.iter_responses(since)

    async def write_csv(
        self,
        surveys: SurveyCatalog,
        out: TextIO,
        since: datetime | None = None,
        *,
        excel: bool = False,
    ) -> int:
        """The flat export (one row a response) written to `out`; how many rows.

        `excel`: starts with a byte-order mark, without which Excel reads UTF-8 as its own
        code page (Juvéderm as JuvÃ©derm).
        """
        columns = await self.export_columns(surveys)
        if excel:
            out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow(csv_header(columns))
        rows = 0
        # Closed here even when writing fails (a reader gone away): the query is the
        # database's, which may close right after.
        async with contextlib.aclosing(self.responses(since)) as responses:
            async for response in responses:
                writer.writerow(csv_row(response, columns, self._zone))
                rows += 1
        return rows

    async def write_jsonl(self, out: TextIO, since: datetime | None = None) -> int:
        """The nested export (one JSON object a line) written to `out`; how many lines."""
        lines = 0
        async with contextlib.aclosing(self.responses(since)) as responses:
            async for response in responses:
                record = response_record(response, self._zone)
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                lines += 1
        return lines
