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

from handlers.common import DeliveryGuard, ErrorReply, PrivateTapsOnly
from handlers.followups import FollowupHandlers
from handlers.keyboards import ANSWER_PREFIX, CONSENT_PATTERN, LANGUAGE_PREFIX, TOGGLE_PREFIX
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
) -> None:
    """Add every handler; within a group the first match wins, so order matters."""
    application.add_handler(
        TypeHandler(object, private_taps.refuse_outside_private), group=PRIVATE_TAPS_GROUP
    )
    application.add_handler(TypeHandler(object, guard.skip_if_handled), group=GUARD_GROUP)
    application.add_handlers(
        [
            # First, so that an edited "/start" is not taken for a new command.
            MessageHandler(filters.UpdateType.EDITED, patient.edited),
            CommandHandler("summary", staff.summary, filters=_NEW),
            CommandHandler("invite", staff.invite, filters=_NEW),
            CommandHandler("export", staff.export, filters=_NEW),
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
            MessageHandler(_PRIVATE & _NEW & filters.TEXT, patient.answer_text),
            MessageHandler(_PRIVATE & _NEW, patient.unsupported),
        ],
        group=MAIN_GROUP,
    )
    application.add_handler(TypeHandler(object, guard.remember), group=AFTER_GROUP)
    application.add_error_handler(on_error)
