"""The patient's conversation: consent, questions, answers, language, cancel, help, forget.

There is no ConversationHandler: where a patient is in a survey lives in the database, so
every update asks the feedback service, and a restart resumes exactly where the patient was.

    /start [code] --(first time)--> consent --agree--> [treatment?] --> question 1 --> ...
       |                               `--decline--> nothing stored        ... --> thanks
       `--(survey open)--> the current question again
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum, auto
from typing import TypeVar, assert_never

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.domain.flow import Step
from bot.domain.models import InvitationState, Notice
from bot.domain.surveys import AnswerValue, QuestionType, localize
from bot.services.cases import CaseService
from bot.services.feedback import (
    Accepted,
    AlreadyAgreed,
    AlreadyAnswered,
    Asking,
    FeedbackService,
    InvitationRefused,
    NeedsConsent,
    NoSurvey,
    NotAsked,
    Rejected,
    Stale,
    StartOutcome,
)
from bot.services.notices import DueNotice, NoticeService
from bot.services.staff import AlertService
from handlers.followups import retry_seconds
from handlers.keyboards import (
    FORGET_YES,
    LANGUAGE_PREFIX,
    AnswerButton,
    ConsentButton,
    call_keyboard,
    consent_keyboard,
    forget_keyboard,
    language_keyboard,
    question_keyboard,
    review_keyboard,
    selection_mask,
)
from handlers.lanes import Lanes
from handlers.texts import CATALOGUES, Texts

logger = logging.getLogger(__name__)

_Sent = TypeVar("_Sent")
# Flood control asks a bot to wait a few seconds at most in practice; longer than this and
# the message is better left owed than the patient left looking at a spinner.
LONGEST_WAIT_IN_LANE = 10.0

# Takes away the "Please call me" keyboard once it has been used.
NO_KEYBOARD = ReplyKeyboardRemove()

# Telegram allows at most 64 characters of A-Za-z0-9_- in a /start payload.
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Delivery(Enum):
    """What became of one message the bot owed a patient."""

    ARRIVED = auto()
    HELD = auto()
    """It failed and is kept for a later try."""
    FLOODED = auto()
    """Telegram's flood control refused it; kept, and the bot should pause."""
    REFUSED = auto()
    """It can never arrive (the patient blocked the bot)."""


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """How far a patient's owed messages got."""

    sent: int
    stopped_by: Delivery | None = None
    """What stopped it before the end, if anything did."""

    @classmethod
    def after(cls, sent: int, last: Delivery) -> CaughtUp:
        """`sent` arrived before `last`, the final attempt."""
        if last is Delivery.ARRIVED:
            return cls(sent + 1)
        return cls(sent, stopped_by=last)

    @property
    def complete(self) -> bool:
        """Everything owed arrived."""
        return self.stopped_by is None

    @property
    def flooded(self) -> bool:
        """Flood control stopped it: the bot should pause."""
        return self.stopped_by is Delivery.FLOODED


@dataclass(frozen=True, slots=True)
class ClinicProfile:
    """What the patient conversation needs to know about the clinic."""

    name: str | None
    """FEEDBACK_CLINIC_NAME; unset, each language says "our clinic" its own way."""
    review_url: str | None
    team: frozenset[int]
    """Admins and staff: /help shows them the staff commands too."""
    retention_days: int
    survey_language: str
    """The survey file's default language, the fallback for its texts."""


class PatientHandlers:
    """Callbacks for private chats with patients."""

    def __init__(  # noqa: PLR0913 - the services and the clinic it answers for, each named
        self,
        feedback: FeedbackService,
        notices: NoticeService,
        alerts: AlertService | None,
        lanes: Lanes,
        clinic: ClinicProfile,
        *,
        cases: CaseService | None = None,
    ) -> None:
        self._feedback = feedback
        self._notices = notices
        self._alerts = alerts
        self._cases = cases
        self._owed_waiting = asyncio.Event()
        self._lanes = lanes
        self._clinic = clinic
        # Until when (monotonic) Telegram's flood control asked the bot to wait, as last seen.
        self._flooded_until = 0.0

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Begin or resume a survey, from an invitation link if there is one."""
        message, user = _message_and_user(update)
        language = await self._language(user)
        code = context.args[0] if context.args else None
        if code is not None and not _PAYLOAD.match(code):
            await message.reply_text(CATALOGUES[language].invitation_unknown)
            return
        outcome = await self._feedback.begin(user.id, language, code)
        await self._show_start(message, outcome, language)

    async def consent_choice(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Store consent and start, or store nothing and say so."""
        query, user = _query_and_user(update)
        try:
            button = ConsentButton.decode(query.data or "")
            if button is None or button.language not in CATALOGUES:
                return
            texts = CATALOGUES[button.language]
            if not button.agree:
                await _edit_text(query, texts.consent_declined)
                return
            await _drop_keyboard(query)
            outcome = await self._feedback.consent(
                user.id, button.language, button.invitation_code
            )
            if isinstance(outcome, AlreadyAgreed):
                return  # a second tap: the welcome and the question are there already
            if isinstance(query.message, Message):
                await self._show_start(query.message, outcome, button.language)
        finally:
            # Answered last, so the phone's spinner lasts until the bot has done its part.
            await query.answer()

    async def answer_button(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Store a tapped answer, show it in place of the keyboard, and ask the next question."""
        query, user = _query_and_user(update)
        language = await self._language(user)
        texts = CATALOGUES[language]
        toast: str | None = texts.stale_button
        try:
            button = AnswerButton.decode(query.data or "")
            if button is None:
                return
            if button.toggle:
                toast = await self._toggle(query, user, button, language)
                return
            outcome = await self._feedback.answer_button(
                user.id,
                button.response_id,
                button.question_id,
                button.value,
                language=language,
                dedup_key=update.update_id,
            )
            if isinstance(outcome, Accepted):
                toast = None
                shown = texts.your_answer.format(answer=self._label(outcome, texts, language))
                await _edit_text(
                    query, self._question_text(outcome.answered, texts) + "\n\n✓ " + shown
                )
                if isinstance(query.message, Message):
                    await self._after_answer(query.message, outcome, language)
            elif isinstance(outcome, Rejected):
                multiple = outcome.step.question.type is QuestionType.MULTIPLE_CHOICE
                toast = texts.choose_at_least_one if multiple else texts.use_buttons
            elif isinstance(outcome, NotAsked):
                # Tapped again because the next question never came: send it now.
                toast = None
                if isinstance(query.message, Message):
                    await self._ask(
                        query.message, Asking(outcome.response_id, outcome.step), language
                    )
            else:
                if isinstance(outcome, AlreadyAnswered):
                    toast = texts.already_answered
                await _drop_keyboard(query)
        finally:
            await query.answer(toast)

    async def answer_text(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Take a typed message as the answer to the current question, if it fits.

        Unless staff have just written to the patient: then it is their answer, for staff.
        """
        message, user = _message_and_user(update)
        language = await self._language(user)
        texts = CATALOGUES[language]
        if self._cases is not None and await self._cases.patient_text(
            user.id, message.text or "", dedup_key=update.update_id
        ):
            if self._alerts is not None:
                self._alerts.wake()
            await message.reply_text(
                texts.message_passed_on.format(clinic=texts.clinic(self._clinic.name))
            )
            return
        outcome = await self._feedback.answer_text(
            user.id,
            message.text or "",
            language=language,
            message_id=message.message_id,
            dedup_key=update.update_id,
        )
        if isinstance(outcome, Accepted):
            if outcome.truncated:
                limit = outcome.answered.question.max_length
                await message.reply_text(texts.text_truncated.format(limit=limit))
            await self._after_answer(message, outcome, language)
        elif isinstance(outcome, NotAsked):
            # The question this would answer had not arrived: ask it rather than guess (unless
            # it has arrived since, below this message, where the patient will see it).
            if not outcome.arrived_since:
                await self._ask(message, Asking(outcome.response_id, outcome.step), language)
        elif isinstance(outcome, Rejected):
            hint = (
                texts.empty_text
                if outcome.step.question.type is QuestionType.TEXT
                else texts.use_buttons
            )
            await message.reply_text(hint)
            await self._ask(
                message, Asking(outcome.response_id, outcome.step, resumed=True), language
            )
        elif isinstance(outcome, NeedsConsent):
            await message.reply_text(texts.not_started)
        elif isinstance(outcome, NoSurvey | Stale | AlreadyAnswered):
            await message.reply_text(texts.no_survey)

    async def shared_contact(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """The patient tapped "Please call me": keep their own number on their latest case."""
        message, user = _message_and_user(update)
        texts = CATALOGUES[await self._language(user)]
        contact = message.contact
        # Telegram fills in user_id only for the sender's own contact card.
        if contact is None or contact.user_id != user.id or self._cases is None:
            await message.reply_text(texts.call_own_number_only, reply_markup=NO_KEYBOARD)
            return
        phone = (
            contact.phone_number
            if contact.phone_number.startswith("+")
            else ("+" + contact.phone_number)
        )
        if not await self._cases.callback_request(user.id, phone):
            await message.reply_text(texts.call_nothing_open, reply_markup=NO_KEYBOARD)
            return
        if self._alerts is not None:
            self._alerts.wake()
        await message.reply_text(
            texts.call_number_saved.format(phone=phone), reply_markup=NO_KEYBOARD
        )

    async def declined_call(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The call offer's "No, thank you" (or the same words answering a question)."""
        message, user = _message_and_user(update)
        language = await self._language(user)
        if await self._feedback.current(user.id, language) is not None:
            await self.answer_text(update, context)
            return
        await message.reply_text(CATALOGUES[language].call_declined, reply_markup=NO_KEYBOARD)

    async def unsupported(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice notes and the like: say what works, then re-ask."""
        message, user = _message_and_user(update)
        language = await self._language(user)
        await message.reply_text(CATALOGUES[language].unsupported_content)
        await self._ask_current(message, user, language)

    async def edited(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Edits are not answers: keep the first version and say so."""
        message = update.edited_message
        if message is None or message.chat.type != ChatType.PRIVATE or message.from_user is None:
            return
        language = await self._language(message.from_user)
        await message.reply_text(CATALOGUES[language].edited_message)

    async def cancel(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Stop the survey in progress, keeping what was answered."""
        message, user = _message_and_user(update)
        texts = CATALOGUES[await self._language(user)]
        cancelled = await self._feedback.cancel(user.id)
        if cancelled is None:
            await message.reply_text(texts.nothing_to_cancel)
            return
        if cancelled.alert_changed and self._alerts is not None:
            self._alerts.wake()
        await message.reply_text(texts.cancelled)

    async def help(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """What the bot does, with staff commands for admins."""
        message, user = _message_and_user(update)
        language = await self._language(user)
        texts = CATALOGUES[language]
        text = texts.help.format(clinic=texts.clinic(self._clinic.name))
        if user.id in self._clinic.team:
            text += texts.help_staff
        await message.reply_text(text)
        if message.chat.type == ChatType.PRIVATE:
            await self._ask_current(message, user, language)

    async def language(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Offer every language the bot speaks."""
        message, user = _message_and_user(update)
        texts = CATALOGUES[await self._language(user)]
        await message.reply_text(texts.choose_language, reply_markup=language_keyboard())

    async def language_choice(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Switch language; for someone who has not agreed yet, show consent in it instead."""
        query, user = _query_and_user(update)
        try:
            language = (query.data or "").removeprefix(f"{LANGUAGE_PREFIX}:")
            if language not in CATALOGUES:
                return
            texts = CATALOGUES[language]
            stored = await self._feedback.set_language(user.id, language)
            await _edit_text(query, texts.language_set)
            if not isinstance(query.message, Message):
                return
            if stored:
                await self._ask_current(query.message, user, language)
            else:
                # Nothing may be stored before consent: the choice rides on its buttons.
                await self._show_start(query.message, NeedsConsent(), language)
        finally:
            await query.answer()

    async def forget(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Ask before erasing everything about the patient."""
        message, user = _message_and_user(update)
        texts = CATALOGUES[await self._language(user)]
        await message.reply_text(texts.forget_confirm, reply_markup=forget_keyboard(texts))

    async def forget_choice(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Erase, or keep, as the patient chose."""
        query, user = _query_and_user(update)
        texts = CATALOGUES[await self._language(user)]
        try:
            if query.data != FORGET_YES:
                await _edit_text(query, texts.forget_kept)
                return
            erased = await self._feedback.forget(user.id)
            if erased and self._alerts is not None:
                self._alerts.wake()  # blank their alerts in the staff chat now, not at a check
            await _edit_text(query, texts.forgotten if erased else texts.nothing_to_forget)
        finally:
            await query.answer()

    async def unknown_command(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """A command the bot does not have."""
        message, user = _message_and_user(update)
        await message.reply_text(CATALOGUES[await self._language(user)].unknown_command)

    async def unknown_button(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """A button whose data no handler knows (forged, or from an old version)."""
        query, user = _query_and_user(update)
        await query.answer(CATALOGUES[await self._language(user)].stale_button)

    async def group_start(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Surveys run in private chats only."""
        message, user = _message_and_user(update)
        await message.reply_text(CATALOGUES[await self._language(user)].private_only)

    async def _language(self, user: User) -> str:
        return await self._feedback.language_for(user.id, user.language_code)

    async def _show_start(self, message: Message, outcome: StartOutcome, language: str) -> None:
        texts = CATALOGUES[language]
        if isinstance(outcome, NeedsConsent):
            consent = texts.consent.format(
                clinic=texts.clinic(self._clinic.name),
                retention_days=self._clinic.retention_days,
            )
            if outcome.links_booking_patient:
                consent += "\n\n" + texts.consent_booking_link
            await message.chat.send_message(
                consent, reply_markup=consent_keyboard(texts, language, outcome.invitation_code)
            )
        elif isinstance(outcome, InvitationRefused):
            refusals = {
                InvitationState.EXPIRED: texts.invitation_expired,
                InvitationState.USED: texts.invitation_used,
            }
            await message.chat.send_message(refusals.get(outcome.state, texts.invitation_unknown))
        else:
            if outcome.resumed:
                await message.chat.send_message(texts.welcome_back)
            await self._ask(message, outcome, language)

    async def _ask_current(self, message: Message, user: User, language: str) -> None:
        current = await self._feedback.current(user.id, language)
        if current is not None:
            await self._ask(message, current, language)

    async def send_owed(self, bot: Bot) -> int:
        """Deliver what faults or crashes held back: notices, then cut-off questions.

        Each patient's in their lane, checked again there, so a handler busy with the same
        patient is never raced. Returns how many messages went out.
        """
        if time.monotonic() < self._flooded_until:
            return 0  # Telegram asked the bot to wait; the patients' own lanes keep trying
        patients = {due.notice.external_id for due in await self._notices.due_notices()}
        patients |= set(await self._feedback.patients_owed_a_question())
        sent = 0
        for external_id in sorted(patients):
            async with self._lanes.hold(external_id):
                caught_up = await self._catch_up(bot, external_id)
            sent += caught_up.sent
            if caught_up.flooded:
                break  # flood control holds for the whole bot: the rest wait a round
        return sent

    async def _catch_up(self, bot: Bot, chat_id: int) -> CaughtUp:
        """Send this patient's owed notices, then their owed question (in their lane).

        In order, stopping at the first that fails: a question must not overtake advice.
        """
        notices = await self._deliver_notices(bot, chat_id)
        if not notices.complete:
            return notices
        owed = await self._feedback.owed_question(chat_id)
        if owed is None:
            return notices
        delivery = await self._try_question(bot, chat_id, owed.asking, owed.language)
        return CaughtUp.after(notices.sent, delivery)

    async def _deliver_notices(self, bot: Bot, chat_id: int) -> CaughtUp:
        """Send the patient's owed notices in order, stopping at the first that fails."""
        sent = 0
        for due in await self._notices.due_notices(chat_id):
            delivery = await self._deliver_notice(bot, chat_id, due)
            if delivery is not Delivery.ARRIVED:
                return CaughtUp.after(sent, delivery)
            sent += 1
        return CaughtUp(sent)

    async def _deliver_notice(self, bot: Bot, chat_id: int, due: DueNotice) -> Delivery:
        """Send one owed notice (if it fails, it is kept for later)."""
        worded = self._notice_message(due)
        if worded is None:  # nothing to send any more: on to the next
            await self._notices.notice_refused(due.notice)
            return Delivery.ARRIVED
        text, markup = worded
        try:
            await _waiting_out_floods(lambda: bot.send_message(chat_id, text, reply_markup=markup))
        except Forbidden:
            # Dropped: it could never arrive. The patient's next message is answered anew.
            logger.info("a notice was refused: the patient blocked the bot")
            await self._notices.notice_refused(due.notice)
            self._case_changed(due)
            return Delivery.REFUSED
        except RetryAfter as error:
            self._flooded(error)
            await self._notices.notice_failed(due.notice, retry_seconds(error))
            return Delivery.FLOODED
        except TelegramError as error:
            logger.info("a notice was not delivered (%s); kept for later", type(error).__name__)
            await self._notices.notice_failed(due.notice, None)
            return Delivery.HELD
        await self._notices.notice_delivered(due.notice)
        self._case_changed(due)
        return Delivery.ARRIVED

    def _notice_message(
        self, due: DueNotice
    ) -> tuple[str, InlineKeyboardMarkup | ReplyKeyboardMarkup | None] | None:
        """A notice's words and buttons; `None` if it has nothing left to say."""
        texts = CATALOGUES[due.language]
        match due.notice.kind:
            case Notice.SAFETY_ADVICE:
                # No medical advice: who will call, and when not to wait for that call.
                return texts.safety_advice, None
            case Notice.THANKS:
                return texts.thanks.format(clinic=texts.clinic(self._clinic.name)), None
            case Notice.REVIEW_INVITATION:
                if not self._clinic.review_url:  # the clinic removed its link since
                    return None
                return texts.review_invitation, review_keyboard(self._clinic.review_url, texts)
            case Notice.CALL_OFFER:
                return texts.call_offer.format(
                    clinic=texts.clinic(self._clinic.name)
                ), call_keyboard(texts)
            case Notice.STAFF_REPLY:
                if due.notice.body is None:  # pragma: no cover - stored with its case message
                    return None
                # Plain text, signed by the clinic: staff write as the clinic, not as themselves.
                return texts.staff_reply.format(
                    body=due.notice.body, clinic=texts.clinic(self._clinic.name)
                ), None
            case _:
                assert_never(due.notice.kind)

    def _case_changed(self, due: DueNotice) -> None:
        """A staff reply arrived (or never will): staff see it on the alert now."""
        if due.notice.kind is Notice.STAFF_REPLY and self._alerts is not None:
            self._alerts.wake()

    def deliver_soon(self) -> None:
        """Something is owed to a patient now (a staff reply): sweep without waiting."""
        self._owed_waiting.set()

    async def wait_for_owed(self, seconds: float) -> None:
        """Until `deliver_soon` is called, or `seconds` pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._owed_waiting.wait(), seconds)
        self._owed_waiting.clear()

    async def _try_question(
        self, bot: Bot, chat_id: int, asking: Asking, language: str
    ) -> Delivery:
        """Send a question (if it fails, it stays owed for the next sweep)."""
        try:
            await self._send_question(bot, chat_id, asking, language)
        except RetryAfter as error:
            self._flooded(error)
            return Delivery.FLOODED
        except Forbidden:
            return Delivery.REFUSED
        except TelegramError as error:
            logger.info("a question was not delivered (%s); owed", type(error).__name__)
            return Delivery.HELD
        return Delivery.ARRIVED

    async def _ask(self, message: Message, asking: Asking, language: str) -> None:
        await self._send_question(message.get_bot(), message.chat.id, asking, language)

    def _flooded(self, error: RetryAfter) -> None:
        self._flooded_until = max(self._flooded_until, time.monotonic() + retry_seconds(error))

    async def _send_question(self, bot: Bot, chat_id: int, asking: Asking, language: str) -> None:
        texts = CATALOGUES[language]
        sent = await _waiting_out_floods(
            lambda: bot.send_message(
                chat_id,
                self._question_text(asking.step, texts),
                reply_markup=question_keyboard(
                    asking.response_id,
                    asking.step,
                    texts,
                    language=language,
                    default_language=self._clinic.survey_language,
                ),
            )
        )
        # Only now may a typed reply answer it (see `NotAsked`).
        await self._feedback.asked(asking.response_id, asking.step.question.id, sent.message_id)

    async def _toggle(
        self, query: CallbackQuery, user: User, button: AnswerButton, language: str
    ) -> str | None:
        """Tick or untick a multiple-choice option: the selection lives in the keyboard."""
        texts = CATALOGUES[language]
        current = await self._feedback.current(user.id, language)
        if (
            current is None
            or current.response_id != button.response_id
            or current.step.question.id != button.question_id
        ):
            await _drop_keyboard(query)
            return texts.stale_button
        mask = selection_mask(current.step, button.value)
        if mask is None:
            return texts.use_buttons
        keyboard = question_keyboard(
            current.response_id,
            current.step,
            texts,
            language=language,
            default_language=self._clinic.survey_language,
            selection=mask,
        )
        try:
            await query.edit_message_reply_markup(keyboard)
        except BadRequest as exc:
            logger.info("could not update a selection: %s", exc.message)
        return None

    async def _after_answer(self, message: Message, outcome: Accepted, language: str) -> None:
        """Deliver what the answer made owed: notices (advice, thanks), then the next question.

        The handler runs in the patient's lane, so it can wait out flood control without
        holding up anybody else. Whatever still fails stays owed in the store for the sweep.
        """
        if outcome.raised_alert and self._alerts is not None:
            # First, and without waiting: nothing said to the patient may hold staff back.
            self._alerts.wake()
        bot, chat_id = message.get_bot(), message.chat.id
        caught_up = await self._deliver_notices(bot, chat_id)
        if caught_up.complete and outcome.next is not None:
            asking = Asking(outcome.response_id, outcome.next)
            await self._try_question(bot, chat_id, asking, language)

    def _question_text(self, step: Step, texts: Texts) -> str:
        if step.about_visit:
            return texts.choose_treatment
        text = step.text
        if step.question.type is QuestionType.MULTIPLE_CHOICE:
            text += "\n" + texts.multiple_hint
        return texts.format_progress(step.number, step.total, text)

    def _label(self, outcome: Accepted, texts: Texts, language: str) -> str:
        value: AnswerValue = outcome.value
        if value is None:
            return texts.skipped
        if isinstance(value, bool):
            return texts.yes if value else texts.no
        labels = {
            option.id: localize(option.label, language, self._clinic.survey_language)
            for option in outcome.answered.question.options
        }
        if isinstance(value, str) and outcome.answered.question.options:
            return ", ".join(labels.get(part, part) for part in value.split(","))
        return str(value)


def _message_and_user(update: Update) -> tuple[Message, User]:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:  # pragma: no cover - the filters guarantee both
        raise ValueError("update without message or user")
    return message, user


def _query_and_user(update: Update) -> tuple[CallbackQuery, User]:
    query = update.callback_query
    if query is None:  # pragma: no cover - registered as a CallbackQueryHandler
        raise ValueError("update without callback query")
    return query, query.from_user


async def _edit_text(query: CallbackQuery, text: str) -> None:
    try:
        await query.edit_message_text(text)
    except TelegramError as exc:
        # The message may be too old to edit, already show this text, or Telegram may be
        # failing: the edit only tidies up, and must not stop what comes after it.
        logger.info("could not edit a message: %s", type(exc).__name__)


async def _drop_keyboard(query: CallbackQuery) -> None:
    try:
        await query.edit_message_reply_markup(None)
    except TelegramError as exc:
        logger.info("could not remove a keyboard: %s", type(exc).__name__)


async def _waiting_out_floods(send: Callable[[], Awaitable[_Sent]]) -> _Sent:
    """Send, waiting out Telegram's flood control if the wait is short.

    Only in a patient's lane, where waiting holds up that patient alone. A longer wait, or
    a second refusal, is left to whoever keeps the message owed.
    """
    try:
        return await send()
    except RetryAfter as error:
        wait = retry_seconds(error)
        if wait > LONGEST_WAIT_IN_LANE:
            raise
        await asyncio.sleep(wait)
        return await send()
