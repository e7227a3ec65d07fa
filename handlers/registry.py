"""The one place that registers handlers, in the order they are tried."""

from __future__ import annotations

from typing import Any, TypeAlias

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    JobQueue,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers.cases import CaseHandlers
from handlers.common import DeliveryGuard, ErrorReply, PrivateTapsOnly
from handlers.followups import FollowupHandlers
from handlers.keyboards import (
    ANSWER_PREFIX,
    CASE_PREFIX,
    CONSENT_PATTERN,
    LANGUAGE_PREFIX,
    TOGGLE_PREFIX,
    declined_call_labels,
)
from handlers.patient import PatientHandlers
from handlers.staff import StaffHandlers

FeedbackApplication: TypeAlias = Application[
    ExtBot[None],
    ContextTypes.DEFAULT_TYPE,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[ContextTypes.DEFAULT_TYPE],
]
"""The Application as `ApplicationBuilder()` builds it, with default context types."""

PRIVATE_TAPS_GROUP = -2
GUARD_GROUP = -1
MAIN_GROUP = 0
AFTER_GROUP = 1

_PRIVATE = filters.ChatType.PRIVATE
_NEW = filters.UpdateType.MESSAGE


def register_handlers(  # noqa: PLR0913 - one argument per group of handlers
    application: FeedbackApplication,
    *,
    patient: PatientHandlers,
    staff: StaffHandlers,
    followups: FollowupHandlers,
    guard: DeliveryGuard,
    private_taps: PrivateTapsOnly,
    on_error: ErrorReply,
    cases: CaseHandlers | None = None,
    staff_chat: int | None = None,
) -> None:
    """Add every handler; within a group the first match wins, so order matters."""
    application.add_handler(
        TypeHandler(object, private_taps.refuse_outside_private), group=PRIVATE_TAPS_GROUP
    )
    application.add_handler(TypeHandler(object, guard.skip_if_handled), group=GUARD_GROUP)
    if cases is not None and staff_chat is not None:
        # Cases are worked on in the staff chat, a group: its text is not for surveys.
        in_staff_chat = filters.Chat(staff_chat) & ~_PRIVATE & _NEW
        application.add_handlers(
            [
                CommandHandler("cancel", cases.cancel, filters=in_staff_chat),
                CallbackQueryHandler(cases.button, pattern=rf"^{CASE_PREFIX}:"),
                MessageHandler(
                    in_staff_chat & filters.TEXT & ~filters.COMMAND, cases.staff_message
                ),
            ],
            group=MAIN_GROUP,
        )
    application.add_handlers(
        [
            # First, so that an edited "/start" is not taken for a new command.
            MessageHandler(filters.UpdateType.EDITED, patient.edited),
            CommandHandler("summary", staff.summary, filters=_NEW),
            CommandHandler("cases", staff.cases, filters=_NEW),
            CommandHandler("trend", staff.trend, filters=_NEW),
            CommandHandler("chatid", staff.chat_id, filters=_NEW),
            CommandHandler("console", staff.console, filters=_NEW),
            CommandHandler("invite", staff.invite, filters=_NEW),
            CommandHandler("export", staff.export, filters=_NEW),
            CommandHandler("audit", staff.audit, filters=_NEW),
            CommandHandler("help", patient.help, filters=_NEW),
            CommandHandler("start", patient.start, filters=_PRIVATE & _NEW),
            CommandHandler("start", patient.group_start, filters=~_PRIVATE & _NEW),
            CommandHandler("cancel", patient.cancel, filters=_PRIVATE & _NEW),
            CommandHandler("forget", patient.forget, filters=_PRIVATE & _NEW),
            CommandHandler("language", patient.language, filters=_PRIVATE & _NEW),
            CommandHandler("stop", followups.stop, filters=_PRIVATE & _NEW),
            CommandHandler("resume", followups.resume, filters=_PRIVATE & _NEW),
            CallbackQueryHandler(patient.consent_choice, pattern=CONSENT_PATTERN),
            CallbackQueryHandler(patient.forget_choice, pattern=r"^forget:(yes|no)$"),
            CallbackQueryHandler(patient.language_choice, pattern=rf"^{LANGUAGE_PREFIX}:"),
            CallbackQueryHandler(
                patient.answer_button, pattern=rf"^({ANSWER_PREFIX}|{TOGGLE_PREFIX}):"
            ),
            CallbackQueryHandler(patient.unknown_button),
            MessageHandler(_PRIVATE & _NEW & filters.COMMAND, patient.unknown_command),
            MessageHandler(_PRIVATE & _NEW & filters.CONTACT, patient.shared_contact),
            MessageHandler(
                _PRIVATE & _NEW & filters.Text(sorted(declined_call_labels())),
                patient.declined_call,
            ),
            MessageHandler(_PRIVATE & _NEW & filters.TEXT, patient.answer_text),
            MessageHandler(_PRIVATE & _NEW, patient.unsupported),
        ],
        group=MAIN_GROUP,
    )
    application.add_handler(TypeHandler(object, guard.remember), group=AFTER_GROUP)
    application.add_error_handler(on_error)
