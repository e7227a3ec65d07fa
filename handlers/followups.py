"""Follow-ups on Telegram: sending within its limits, and /stop and /resume for patients."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta

from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes
from telegram.warnings import PTBDeprecationWarning

from bot.domain.flow import Step
from bot.domain.models import Followup, Visit
from bot.domain.surveys import SurveyCatalog
from bot.pacing import Pacer
from bot.services.feedback import FeedbackService
from bot.services.followups import FollowupService, SendResult
from handlers.keyboards import question_keyboard
from handlers.texts import CATALOGUES, Texts
from handlers.texts.formatting import describe_visit

logger = logging.getLogger(__name__)

NETWORK_ATTEMPTS = 4
RATE_LIMIT_ATTEMPTS = 10


def retry_seconds(error: RetryAfter) -> float:
    """How long Telegram asked us to wait.

    PTB 22 returns an int and warns that it will become a timedelta; read it either way.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramFollowupSender:
    """Sends a follow-up as one message (intro and first question), paced and retried."""

    def __init__(
        self, bot: Bot, surveys: SurveyCatalog, pacer: Pacer, clinic_name: str | None
    ) -> None:
        self._bot = bot
        self._surveys = surveys
        self._pacer = pacer
        self._clinic = clinic_name

    async def send_followup(
        self, followup: Followup, step: Step, response_id: str, *, reminder: bool
    ) -> SendResult:
        """Deliver it, waiting out 429s and retrying network errors; never twice."""
        language = followup.language if followup.language in CATALOGUES else None
        language = language or self._surveys.default_language
        texts = CATALOGUES.get(language, CATALOGUES["en"])
        treatment = texts.your_treatment
        if followup.visit is not None and followup.visit.treatment:
            treatment = describe_visit(Visit(followup.visit.treatment), self._surveys, language)
        opening = texts.followup_reminder if reminder else texts.followup_intro
        if followup.after_visit and not reminder:
            opening = texts.visit_survey_intro
        text = (
            opening.format(clinic=texts.clinic(self._clinic), treatment=treatment)
            + "\n\n"
            + texts.format_progress(step.number, step.total, step.text)
        )
        keyboard = question_keyboard(
            response_id,
            step,
            texts,
            language=language,
            default_language=self._surveys.default_language,
        )
        return await self._deliver(followup.recipient, text, keyboard)

    async def _deliver(
        self, chat_id: int, text: str, keyboard: InlineKeyboardMarkup | None
    ) -> SendResult:
        network_failures = 0
        for _ in range(RATE_LIMIT_ATTEMPTS + NETWORK_ATTEMPTS):
            await self._pacer.wait(chat_id)
            try:
                await self._bot.send_message(chat_id, text, reply_markup=keyboard)
            except RetryAfter as error:
                self._pacer.pause(retry_seconds(error))
                continue
            except Forbidden:
                return SendResult.UNREACHABLE
            except BadRequest as error:
                if "chat not found" in error.message.lower():
                    return SendResult.UNREACHABLE
                logger.warning("follow-up refused by Telegram: %s", error.message)
                return SendResult.FAILED
            except TimedOut:
                # Telegram may have delivered it: count it sent rather than risk a duplicate.
                return SendResult.SENT
            except NetworkError:
                network_failures += 1
                if network_failures >= NETWORK_ATTEMPTS:
                    return SendResult.FAILED
                await self._pacer.back_off(network_failures)
                continue
            return SendResult.SENT
        return SendResult.FAILED


class FollowupHandlers:
    """/stop and /resume for patients."""

    def __init__(self, followups: FollowupService, feedback: FeedbackService) -> None:
        self._followups = followups
        self._feedback = feedback

    async def stop(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """No more follow-up messages; says how to have them again."""
        asked = await self._asked(update)
        if asked is not None:
            message, user_id, texts = asked
            cancelled = await self._followups.stop(user_id)
            await message.reply_text(
                texts.followups_nothing_to_stop if cancelled is None else texts.followups_stopped
            )

    async def resume(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Follow-ups again, for visits from now on."""
        asked = await self._asked(update)
        if asked is not None:
            message, user_id, texts = asked
            resumed = await self._followups.resume(user_id)
            await message.reply_text(texts.followups_resumed if resumed else texts.not_started)

    async def _asked(self, update: Update) -> tuple[Message, int, Texts] | None:
        """The command's message, who sent it, and their language's catalogue."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:  # pragma: no cover - a command has both
            return None
        language = await self._feedback.language_for(user.id, user.language_code)
        return message, user.id, CATALOGUES[language]
