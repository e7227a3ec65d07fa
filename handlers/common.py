"""Handlers every update passes through: redelivery guard and error reply."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.services.feedback import FeedbackService
from handlers.keyboards import CASE_PREFIX
from handlers.texts import CATALOGUES

logger = logging.getLogger(__name__)


class DeliveryGuard:
    """Makes a redelivered update (same update_id) a no-op.

    Telegram may deliver an update again after a restart; answers record their update id in
    the same transaction, and every other update is remembered once it has been handled.
    """

    def __init__(self, feedback: FeedbackService) -> None:
        self._feedback = feedback

    async def skip_if_handled(self, update: object, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Stop all handlers for an update that was handled before."""
        if isinstance(update, Update) and await self._feedback.already_handled(update.update_id):
            logger.info("update %s was delivered again; ignored", update.update_id)
            raise ApplicationHandlerStop

    async def remember(self, update: object, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Record the update as handled, after the handlers ran."""
        if isinstance(update, Update):
            await self._feedback.remember_handled(update.update_id)


class PrivateTapsOnly:
    """Buttons work only in private chats (and alerts' buttons in the staff chat).

    A tap from a group (forged, or on a forwarded survey) would otherwise record consent or
    post survey questions in that group.
    """

    def __init__(self, feedback: FeedbackService, staff_chat: int | None = None) -> None:
        self._feedback = feedback
        self._staff_chat = staff_chat

    async def refuse_outside_private(self, update: object, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a tap from anywhere but a private chat with a pop-up, and do nothing else."""
        if not isinstance(update, Update) or update.callback_query is None:
            return
        query = update.callback_query
        message = query.message
        if message is not None and message.chat.type == ChatType.PRIVATE:
            return
        if (
            message is not None
            and message.chat.id == self._staff_chat
            and (query.data or "").startswith(f"{CASE_PREFIX}:")
        ):
            return  # an alert's buttons, where staff act on it
        user = query.from_user
        language = await self._feedback.language_for(user.id, user.language_code)
        await query.answer(CATALOGUES[language].private_only)
        raise ApplicationHandlerStop


class ErrorReply:
    """Logs a failed update without its content and tells the patient their answers are safe."""

    def __init__(self, default_language: str) -> None:
        self._default_language = default_language

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error (ids only, never message text) and apologise in private chats."""
        update_id = update.update_id if isinstance(update, Update) else None
        logger.error("error while handling update %s", update_id, exc_info=context.error)
        if not isinstance(update, Update):
            return
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        # The database may be what failed, so the language comes from Telegram alone.
        user = update.effective_user
        hint = (user.language_code or "")[:2] if user else ""
        texts = CATALOGUES.get(hint) or CATALOGUES[self._default_language]
        try:
            await context.bot.send_message(chat.id, texts.something_went_wrong)
        except Exception:
            logger.warning("could not tell chat about the error", exc_info=True)
