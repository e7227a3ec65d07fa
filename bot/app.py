"""The composition root: the one place that wires settings, storage, services and handlers."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationBuilder

from bot.domain.models import AlertThresholds
from bot.domain.surveys import SurveyCatalog, load_catalog
from bot.sentiment import TextBlobScorer
from bot.services.feedback import FeedbackService
from bot.services.ports import Clock, SystemClock
from bot.services.staff import AlertService, ReportService
from bot.settings import Settings
from handlers.common import DeliveryGuard, ErrorReply
from handlers.patient import PatientHandlers
from handlers.registry import FeedbackApplication, register_handlers
from handlers.staff import StaffHandlers, TelegramAlertSender
from handlers.texts import ENGLISH
from storage.alerts import SqliteAlertStore
from storage.database import Database
from storage.reports import SqliteReportStore
from storage.responses import SqliteResponseStore

logger = logging.getLogger(__name__)

# Telegram keeps undelivered updates for 24 hours; remembering handled ones a little longer
# is enough to recognise any redelivery.
HANDLED_EVENTS_KEPT = timedelta(days=2)

# The updates the handlers use; others (chat members, polls...) are not fetched at all.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    surveys: SurveyCatalog | None = None,
) -> FeedbackApplication:
    """Build the bot; the database opens in `post_init` and closes in `post_shutdown`."""
    clock = clock or SystemClock()
    surveys = surveys or load_catalog(settings.surveys)
    texts = ENGLISH
    database = Database(settings.db)
    responses = SqliteResponseStore(database)
    feedback = FeedbackService(
        responses,
        surveys,
        TextBlobScorer(settings.sentiment_negative_below, settings.sentiment_positive_above),
        clock,
        AlertThresholds(settings.alert_csat_at_most, settings.alert_nps_at_most),
    )
    reports = ReportService(SqliteReportStore(database), clock)

    async def post_init(application: FeedbackApplication) -> None:
        await database.initialize()
        await responses.forget_events_before(clock.now() - HANDLED_EVENTS_KEPT)
        try:
            await application.bot.set_my_commands(
                [BotCommand(name, text) for name, text in texts.command_descriptions]
            )
        except TelegramError:
            logger.warning("could not set the command menu", exc_info=True)
        if alerts is not None:
            # Alerts raised just before a crash or during an outage are still owed to staff.
            await alerts.deliver_pending()

    async def post_shutdown(_: FeedbackApplication) -> None:
        await database.close()

    application = (
        ApplicationBuilder()
        .token(settings.token())
        .base_url(str(settings.api_url))
        .base_file_url(str(settings.api_url).replace("/bot", "/file/bot", 1))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        # One update at a time: answers are read-decide-write, and ordering per patient
        # matters more than throughput at a clinic's volume.
        .concurrent_updates(False)  # noqa: FBT003 - PTB's builder takes a bare bool
        .build()
    )
    alerts = None
    if settings.staff_chat is not None:
        sender = TelegramAlertSender(application.bot, settings.staff_chat, surveys)
        alerts = AlertService(SqliteAlertStore(database), sender, clock)
    review_url = str(settings.review_url) if settings.review_url else None
    register_handlers(
        application,
        PatientHandlers(
            feedback,
            alerts,
            texts,
            clinic_name=settings.clinic_name,
            review_url=review_url,
            admins=settings.admins,
        ),
        StaffHandlers(reports, texts, settings.admins),
        DeliveryGuard(feedback),
        ErrorReply(texts),
    )
    return application


def run(settings: Settings) -> None:
    """Run the bot with long polling until SIGINT or SIGTERM."""
    application = build_application(settings)
    application.run_polling(allowed_updates=ALLOWED_UPDATES)
