"""The patient's conversation: consent, questions, answers, cancel, help and forget.

There is no ConversationHandler: where a patient is in a survey lives in the database, so
every update asks the feedback service, and a restart resumes exactly where the patient was.

    /start --(first time)--> consent --agree--> question 1 --answer--> ... --> thanks (+review)
       |                        `--decline--> nothing stored
       `--(survey open)--> the current question again
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.domain.flow import Step
from bot.domain.surveys import AnswerValue, QuestionType
from bot.services.feedback import (
    Accepted,
    AlreadyAnswered,
    Asking,
    FeedbackService,
    NeedsConsent,
    NoSurvey,
    Rejected,
    Stale,
)
from bot.services.staff import AlertService
from handlers.keyboards import (
    CONSENT_YES,
    FORGET_YES,
    AnswerButton,
    consent_keyboard,
    forget_keyboard,
    question_keyboard,
    review_keyboard,
)
from handlers.texts import Texts

logger = logging.getLogger(__name__)


class PatientHandlers:
    """Callbacks for private chats with patients."""

    def __init__(  # noqa: PLR0913 - two services and four named settings, all needed
        self,
        feedback: FeedbackService,
        alerts: AlertService | None,
        texts: Texts,
        *,
        clinic_name: str,
        review_url: str | None,
        admins: frozenset[int],
        retention_days: int,
    ) -> None:
        self._feedback = feedback
        self._alerts = alerts
        self._texts = texts
        self._clinic = clinic_name
        self._review_url = review_url
        self._admins = admins
        self._retention_days = retention_days

    async def start(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Begin or resume a survey, asking for consent the first time."""
        message, user_id = _message_and_user(update)
        outcome = await self._feedback.begin(user_id)
        if isinstance(outcome, NeedsConsent):
            await message.reply_text(
                self._texts.consent.format(
                    clinic=self._clinic, retention_days=self._retention_days
                ),
                reply_markup=consent_keyboard(self._texts),
            )
            return
        if outcome.resumed:
            await message.reply_text(self._texts.welcome_back)
        await self._ask(message, outcome)

    async def consent_choice(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Store consent and start, or store nothing and say so."""
        query, user_id = _query_and_user(update)
        try:
            if query.data != CONSENT_YES:
                await _edit_text(query, self._texts.consent_declined)
                return
            await _drop_keyboard(query)
            asking = await self._feedback.consent(user_id)
            if isinstance(query.message, Message):
                await self._ask(query.message, asking)
        finally:
            # Answered last, so the phone's spinner lasts until the bot has done its part.
            await query.answer()

    async def answer_button(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Store a tapped answer, show it in place of the keyboard, and ask the next question."""
        query, user_id = _query_and_user(update)
        toast: str | None = self._texts.stale_button
        try:
            button = AnswerButton.decode(query.data or "")
            if button is None:
                return
            outcome = await self._feedback.answer_button(
                user_id, button.response_id, button.question_id, button.value, update.update_id
            )
            if isinstance(outcome, Accepted):
                toast = None
                shown = self._texts.your_answer.format(
                    answer=self._label(outcome.answered, outcome.value)
                )
                await _edit_text(query, self._question_text(outcome.answered) + "\n\n✓ " + shown)
                if isinstance(query.message, Message):
                    await self._after_answer(query.message, outcome)
            elif isinstance(outcome, Rejected):
                toast = self._texts.use_buttons
            else:
                if isinstance(outcome, AlreadyAnswered):
                    toast = self._texts.already_answered
                await _drop_keyboard(query)
        finally:
            await query.answer(toast)

    async def answer_text(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Take a typed message as the answer to the current question, if it fits."""
        message, user_id = _message_and_user(update)
        outcome = await self._feedback.answer_text(user_id, message.text or "", update.update_id)
        if isinstance(outcome, Accepted):
            if outcome.truncated:
                limit = outcome.answered.question.max_length
                await message.reply_text(self._texts.text_truncated.format(limit=limit))
            await self._after_answer(message, outcome)
        elif isinstance(outcome, Rejected):
            hint = (
                self._texts.empty_text
                if outcome.step.question.type is QuestionType.TEXT
                else self._texts.use_buttons
            )
            await message.reply_text(hint)
            await self._ask(message, Asking(outcome.response_id, outcome.step, resumed=True))
        elif isinstance(outcome, NeedsConsent):
            await message.reply_text(self._texts.not_started)
        elif isinstance(outcome, NoSurvey | Stale | AlreadyAnswered):
            await message.reply_text(self._texts.no_survey)

    async def unsupported(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice notes and the like: say what works, then re-ask."""
        message, user_id = _message_and_user(update)
        await message.reply_text(self._texts.unsupported_content)
        current = await self._feedback.current(user_id)
        if current is not None:
            await self._ask(message, current)

    async def edited(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Edits are not answers: keep the first version and say so."""
        message = update.edited_message
        if message is not None and message.chat.type == ChatType.PRIVATE:
            await message.reply_text(self._texts.edited_message)

    async def cancel(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Stop the survey in progress, keeping what was answered."""
        message, user_id = _message_and_user(update)
        cancelled = await self._feedback.cancel(user_id)
        if cancelled is None:
            await message.reply_text(self._texts.nothing_to_cancel)
            return
        await message.reply_text(self._texts.cancelled)
        if cancelled.alert_changed and self._alerts is not None:
            await self._alerts.deliver_pending()

    async def help(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """What the bot does, with staff commands for admins."""
        message, user_id = _message_and_user(update)
        text = self._texts.help.format(clinic=self._clinic)
        if user_id in self._admins:
            text += self._texts.help_staff
        await message.reply_text(text)
        if message.chat.type != ChatType.PRIVATE:
            return
        current = await self._feedback.current(user_id)
        if current is not None:
            await self._ask(message, current)

    async def forget(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Ask before erasing everything about the patient."""
        message, _user_id = _message_and_user(update)
        await message.reply_text(
            self._texts.forget_confirm, reply_markup=forget_keyboard(self._texts)
        )

    async def forget_choice(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Erase, or keep, as the patient chose."""
        query, user_id = _query_and_user(update)
        try:
            if query.data != FORGET_YES:
                await _edit_text(query, self._texts.forget_kept)
                return
            erased = await self._feedback.forget(user_id)
            await _edit_text(
                query, self._texts.forgotten if erased else self._texts.nothing_to_forget
            )
        finally:
            await query.answer()

    async def unknown_command(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """A command the bot does not have."""
        message, _user_id = _message_and_user(update)
        await message.reply_text(self._texts.unknown_command)

    async def unknown_button(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """A button whose data no handler knows (forged, or from an old version)."""
        query, _user_id = _query_and_user(update)
        await query.answer(self._texts.stale_button)

    async def group_start(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Surveys run in private chats only."""
        message, _user_id = _message_and_user(update)
        await message.reply_text(self._texts.private_only)

    async def _ask(self, message: Message, asking: Asking) -> None:
        await message.chat.send_message(
            self._question_text(asking.step),
            reply_markup=question_keyboard(asking.response_id, asking.step, self._texts),
        )

    async def _after_answer(self, message: Message, outcome: Accepted) -> None:
        if outcome.next is not None:
            await self._ask(message, Asking(outcome.response_id, outcome.next))
        else:
            await message.chat.send_message(self._texts.thanks.format(clinic=self._clinic))
            if self._review_url:
                # Offered to everyone who finishes: asking only happy patients (review
                # gating) breaks Google's review policy and FTC guidance.
                await message.chat.send_message(
                    self._texts.review_invitation,
                    reply_markup=review_keyboard(self._review_url, self._texts),
                )
        if outcome.raised_alert and self._alerts is not None:
            await self._alerts.deliver_pending()

    def _question_text(self, step: Step) -> str:
        return self._texts.format_progress(step.number, step.total, step.text)

    def _label(self, step: Step, value: AnswerValue) -> str:
        if value is None:
            return self._texts.skipped
        for option in step.question.options:
            if option.id == value:
                return option.label
        return str(value)


def _message_and_user(update: Update) -> tuple[Message, int]:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:  # pragma: no cover - the filters guarantee both
        raise ValueError("update without message or user")
    return message, user.id


def _query_and_user(update: Update) -> tuple[CallbackQuery, int]:
    query = update.callback_query
    if query is None:  # pragma: no cover - registered as a CallbackQueryHandler
        raise ValueError("update without callback query")
    return query, query.from_user.id


async def _edit_text(query: CallbackQuery, text: str) -> None:
    try:
        await query.edit_message_text(text)
    except BadRequest as exc:
        # The message may be too old to edit, or already show this text; neither matters.
        logger.info("could not edit a message: %s", exc.message)


async def _drop_keyboard(query: CallbackQuery) -> None:
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as exc:
        logger.info("could not remove a keyboard: %s", exc.message)
