"""The staff's side: alerts, summaries and exports."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from bot.domain.export import ExportColumn
from bot.domain.models import Period, Response, Summary
from bot.domain.surveys import QuestionType, SurveyCatalog
from bot.services.ports import AlertSender, AlertStore, Clock, ReportStore

logger = logging.getLogger(__name__)


class AlertService:
    """Delivers alerts from the store to staff; anything not delivered is retried later.

    Alerts are written in the same transaction as the answer that raised them, so an alert
    is never lost to a crash or a Telegram outage: it stays pending until staff have it.
    """

    def __init__(self, store: AlertStore, sender: AlertSender, clock: Clock) -> None:
        self._store = store
        self._sender = sender
        self._clock = clock
        # Start-up delivery and an answer's delivery may overlap; one at a time sends each once.
        self._delivering = asyncio.Lock()

    async def deliver_pending(self) -> int:
        """Send new alerts and update changed ones; returns how many were delivered."""
        async with self._delivering:
            return await self._deliver()

    async def _deliver(self) -> int:
        delivered = 0
        for alert in await self._store.pending_alerts():
            try:
                if alert.staff_message_id is None:
                    message_id = await self._sender.send(alert, self._clock.now())
                else:
                    message_id = alert.staff_message_id
                    await self._sender.update(alert, message_id, self._clock.now())
            except Exception:
                logger.warning("alert %s not delivered; will retry", alert.id, exc_info=True)
                continue
            await self._store.mark_delivered(alert.id, message_id, alert.version)
            delivered += 1
        return delivered


class ReportService:
    """Summaries and exports over stored responses."""

    def __init__(self, store: ReportStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def summary(self, period: Period) -> Summary:
        """Aggregates over the responses started in the period ending now."""
        return await self._store.summary(period, period.since(self._clock.now()))

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

    def responses(self, since: datetime | None = None) -> AsyncIterator[Response]:
        """Every response started since `since` (all if `None`), oldest first."""
        return self._store.iter_responses(since)
