"""Staff commands and the staff-chat side of alerts."""

from __future__ import annotations

from datetime import datetime

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.domain.models import PendingAlert, Period
from bot.domain.surveys import SurveyCatalog
from bot.services.staff import ReportService
from handlers.texts import Texts
from handlers.texts.en import format_alert, format_summary

DEFAULT_PERIOD = Period.DAYS_30


class StaffHandlers:
    """Admin-only commands; anyone else is refused without seeing any data."""

    def __init__(self, reports: ReportService, texts: Texts, admins: frozenset[int]) -> None:
        self._reports = reports
        self._texts = texts
        self._admins = admins

    async def summary(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Reply with `/summary [7d|30d|90d|all]` for admins."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:  # pragma: no cover - a command has both
            return
        if user.id not in self._admins:
            await message.reply_text(self._texts.staff_only)
            return
        args = context.args or []
        try:
            period = Period(args[0].lower()) if args else DEFAULT_PERIOD
        except ValueError:
            period = None
        if period is None or len(args) > 1:
            await message.reply_text(self._texts.summary_usage)
            return
        summary = await self._reports.summary(period)
        await message.reply_text(format_summary(summary), parse_mode=ParseMode.HTML)


class TelegramAlertSender:
    """Posts alerts to the staff chat and edits them as more answers arrive."""

    def __init__(self, bot: Bot, staff_chat: int, surveys: SurveyCatalog) -> None:
        self._bot = bot
        self._chat = staff_chat
        self._surveys = surveys

    async def send(self, alert: PendingAlert, now: datetime) -> int:
        """Post a new alert and return its message id."""
        message = await self._bot.send_message(
            self._chat, format_alert(alert, self._surveys, now), parse_mode=ParseMode.HTML
        )
        return message.message_id

    async def update(self, alert: PendingAlert, staff_message_id: int, now: datetime) -> None:
        """Rewrite a posted alert with the response's latest answers."""
        try:
            await self._bot.edit_message_text(
                format_alert(alert, self._surveys, now),
                chat_id=self._chat,
                message_id=staff_message_id,
                parse_mode=ParseMode.HTML,
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise
