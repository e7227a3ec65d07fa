"""The composition root: the one place that wires settings, storage, services and handlers."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import ApplicationBuilder

from bot.domain.audit import RETENTION_ACTOR, AuditAction
from bot.domain.models import AlertThresholds
from bot.domain.surveys import SurveyCatalog, load_catalog
from bot.pacing import Pacer
from bot.sentiment import ClinicScorer
from bot.services.audit import AuditService
from bot.services.cases import CaseService
from bot.services.feedback import FeedbackService
from bot.services.followups import FollowupService
from bot.services.intake import VisitIntakeService
from bot.services.invitations import InvitationService, InvitationStore
from bot.services.mail import MailService
from bot.services.notices import NoticeService
from bot.services.ports import Clock, HandledEvents, Retention, ShiftedClock, SystemClock
from bot.services.staff import AlertService, ReportService
from bot.settings import Settings
from handlers.cases import CaseHandlers
from handlers.common import DeliveryGuard, ErrorReply, PrivateTapsOnly
from handlers.console import CaseWaking, Console, ConsoleAccess
from handlers.followups import FollowupHandlers, TelegramFollowupSender
from handlers.intake import Intake, UpdateQueue
from handlers.intake_api import BookingWebhook, IntakeApi, MindbodyWebhook, VagaroWebhook
from handlers.lanes import Lanes, PerPersonUpdateProcessor
from handlers.mail import InvitationMessages, SmtpInvitationMailer
from handlers.patient import ClinicProfile, PatientHandlers
from handlers.polling import DurablePoller
from handlers.registry import FeedbackApplication, register_handlers
from handlers.staff import StaffHandlers, TelegramAlertSender
from handlers.texts import CATALOGUES, Texts
from handlers.webhook import ApiListener, Routes, WebhookConfig, WebhookReceiver
from storage.alerts import SqliteAlertStore
from storage.audit import SqliteAuditTrail
from storage.cases import SqliteCaseStore
from storage.database import Database, shown
from storage.followups import SqliteFollowupStore
from storage.inbox import SqliteInbox
from storage.intake import SqliteVisitEvents
from storage.mail import SqliteInvitationMail
from storage.reports import SqliteReportStore
from storage.responses import SqliteResponseStore

logger = logging.getLogger(__name__)

# Telegram keeps undelivered updates for 24 hours; remembering handled ones a little longer
# is enough to recognise any redelivery.
HANDLED_EVENTS_KEPT = timedelta(days=2)
HOUSEKEEPING_INTERVAL = timedelta(days=1)
# How often a worker on PostgreSQL checks whether it is (or may become) the one that sends.
ELECTION_CHECK = timedelta(seconds=2)
# An update stored this long ago and not handled was left by a worker that stopped.
ORPHAN_AGE = timedelta(seconds=10)
FOLLOWUPS_KEY = "followups"
INBOX_KEY = "inbox"
DATABASE_KEY = "database"
CAUGHT_UP_KEY = "caught_up"
HTTP_KEY = "http"
MAIL_KEY = "mail"


@dataclass(frozen=True, slots=True)
class HttpServing:
    """What the bot serves over HTTP (the intake API, the console), and where polling does.

    In webhook mode the same routes are served beside the webhook.
    """

    routes: tuple[Routes, ...]
    polling_address: tuple[str, int] | None


# How long stopping waits for updates in flight: within Docker's 10 s before it kills. What
# is cut off is in the inbox and handled at the next start.
STOP_WAIT = timedelta(seconds=8)

# The updates the handlers use; others (chat members, polls...) are not fetched at all.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]


class Lifecycle:
    """What happens around polling: open the database, purge, catch up, close."""

    def __init__(  # noqa: PLR0913 - the parts it starts and stops, each named
        self,
        *,
        database: Database,
        handled_events: HandledEvents,
        retention_store: Retention,
        clock: Clock,
        texts: Texts,
        retention: timedelta,
        audit: AuditService,
    ) -> None:
        self.database = database
        self._audit = audit
        self.alerts: AlertService | None = None
        self.patients: PatientHandlers | None = None
        self.owed_interval = 5.0
        self.followups: FollowupService | None = None
        self.mail: MailService | None = None
        self.cases: CaseService | None = None
        self.reports: ReportService | None = None
        self.staff: StaffHandlers | None = None
        self.followup_interval = 60.0
        self._handled_events = handled_events
        self._retention_store = retention_store
        self._clock = clock
        self._texts = texts
        self._retention = retention
        self._tasks: list[asyncio.Task[None]] = []
        self._dispatching: list[asyncio.Task[None]] = []
        self._first_rounds: list[asyncio.Event] = []

    async def post_init(self, application: FeedbackApplication) -> None:
        """Open the database and do what is owed before taking updates."""
        await self.database.initialize()
        leading = await self.database.dispatcher.leading()
        if leading:
            # Purge before anything else: the consent message promises the retention period.
            await self._housekeep()
        if self.reports is not None and await self.reports.totals_due():
            # After an upgrade (or a survey file that moved a score), years of answers take
            # seconds to add up: here, rather than in the first /summary.
            logger.info("building the daily totals for summaries (a stop now is safe)")
            started = time.monotonic()
            if await self.reports.prepare():
                logger.info(
                    "built the daily totals for summaries in %.1f s", time.monotonic() - started
                )
        try:
            await application.bot.set_my_commands(
                [BotCommand(name, text) for name, text in self._texts.command_descriptions]
            )
        except TelegramError:
            logger.warning("could not set the command menu", exc_info=True)
        if self.staff is not None:
            await self.staff.offer_console(application.bot)
        if leading:
            await self._dispatch(application)
        if self.database.postgresql:
            self._tasks.append(asyncio.create_task(self._follow_election(application)))

    async def _dispatch(self, application: FeedbackApplication) -> None:
        """Start what one worker does for all: sending, retrying and tidying up."""
        if self.alerts is not None:
            # The outbox's sender: at once for what was owed before a crash or an outage,
            # then whenever an answer raises an alert, and at every check for retries.
            self._dispatching.append(asyncio.create_task(self.alerts.run()))
        self._dispatching.append(asyncio.create_task(self._daily()))
        if self.patients is not None:
            self._dispatching.append(
                asyncio.create_task(self._send_owed(self.patients, application))
            )
        if self.followups is not None:
            recovered = await self.followups.recover()
            if recovered:
                logger.warning(
                    "%d follow-ups were being sent at a crash; counted as sent", recovered
                )
            self._dispatching.append(self._sending(self.followups.dispatch, "follow-ups"))
        if self.mail is not None:
            again = await self.mail.recover()
            if again:
                logger.warning(
                    "%d e-mail invitations were being sent at a crash; due again", again
                )
            self._dispatching.append(self._sending(self.mail.dispatch, "e-mail invitations"))

    async def _follow_election(self, application: FeedbackApplication) -> None:
        # Several workers share PostgreSQL: the one holding the dispatcher's lock sends. If it
        # stops, another takes over here within ELECTION_CHECK.
        while True:
            await asyncio.sleep(ELECTION_CHECK.total_seconds())
            try:
                leading = await self.database.dispatcher.leading()
            except Exception:  # the database is away: do not send meanwhile
                logger.warning("cannot reach the database to see who sends", exc_info=True)
                leading = False
            try:
                if leading and not self._dispatching:
                    logger.info("this worker now sends follow-ups, alerts and owed messages")
                    await self._housekeep()
                    await self._dispatch(application)
                elif not leading and self._dispatching:
                    logger.warning("another worker sends now; this one stops sending")
                    await _cancel(self._dispatching)
            except Exception:  # try again at the next check rather than stop for good
                logger.exception("taking over the sending failed")

    async def post_stop(self, _: FeedbackApplication) -> None:
        """Stop the background work (a follow-up cut off mid-send counts as sent)."""
        await _cancel(self._tasks)
        await _cancel(self._dispatching)
        await self.database.dispatcher.resign()

    async def post_shutdown(self, _: FeedbackApplication) -> None:
        """Close the database (every write has already committed)."""
        await self.database.close()

    async def _housekeep(self) -> None:
        now = self._clock.now()
        purged = await self._retention_store.purge_before(now - self._retention, now)
        if purged:
            logger.info("deleted %d responses older than %s", purged, self._retention)
            detail = f"{purged} responses older than {self._retention.days} days erased"
            await self._audit.record(RETENTION_ACTOR, AuditAction.RETENTION, detail=detail)
        await self._handled_events.forget_events_before(self._clock.now() - HANDLED_EVENTS_KEPT)
        await self._audit.remove_expired()
        # A copy of the trail's head outside the database, once a day: sent with the alerts.
        if self.alerts is not None and await self._audit.owe_head() is not None:
            self.alerts.wake()

    def _sending(self, dispatch: Callable[[], Awaitable[object]], what: str) -> asyncio.Task[None]:
        first = asyncio.Event()
        self._first_rounds.append(first)
        return asyncio.create_task(self._send_due(dispatch, what, first))

    async def _send_due(
        self, dispatch: Callable[[], Awaitable[object]], what: str, first: asyncio.Event
    ) -> None:
        # Right away first: what fell due while the bot was down goes out now.
        while True:
            try:
                await dispatch()
            except Exception:  # try again next round rather than stop for good
                logger.exception("sending %s failed", what)
            first.set()
            await asyncio.sleep(self.followup_interval)

    async def caught_up(self) -> None:
        """Return once each sender's first round is over: what fell due while down was tried.

        At once on a worker that does not send.
        """
        await asyncio.gather(*(first.wait() for first in self._first_rounds))

    async def _send_owed(
        self, patients: PatientHandlers, application: FeedbackApplication
    ) -> None:
        # Questions that a fault or a crash cut off after the patient's answer was stored.
        while True:
            try:
                sent = await patients.send_owed(application.bot)
                if sent:
                    logger.info("sent %d messages a fault or a restart had held back", sent)
            except Exception:  # try again next round rather than stop for good
                logger.exception("sending owed messages failed")
            try:
                await self._escalate()
            except Exception:  # try again next round rather than stop for good
                logger.exception("posting unclaimed cases again failed")
            await patients.wait_for_owed(self.owed_interval)

    async def _escalate(self) -> None:
        # Alongside the owed sweep: both run every FEEDBACK_ALERT_CHECK_SECONDS.
        if self.cases is None or self.alerts is None:
            return
        reposted = await self.cases.escalate()
        if reposted:
            logger.info("posted %d cases again: nobody had taken them", reposted)
            self.alerts.wake()

    async def _daily(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL.total_seconds())
            try:
                await self._housekeep()
            except Exception:  # try again tomorrow rather than stop for good
                logger.exception("housekeeping failed")


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    surveys: SurveyCatalog | None = None,
    pacer: Pacer | None = None,
) -> FeedbackApplication:
    """Build the bot; the database opens in `post_init` and closes in `post_shutdown`."""
    clock = clock or SystemClock()
    surveys = surveys or load_catalog(settings.surveys)
    database = Database(settings.db, key=settings.db_key())
    roster = settings.roster()
    audit_trail = SqliteAuditTrail(database)
    audit = AuditService(
        audit_trail,
        clock,
        kept=timedelta(days=settings.audit_retention_days),
        zone=ZoneInfo(settings.timezone),
    )
    responses = SqliteResponseStore(database)
    feedback = FeedbackService(
        responses,
        responses,
        surveys,
        ClinicScorer(settings.sentiment_negative_below, settings.sentiment_positive_above),
        clock,
        thresholds=AlertThresholds(settings.alert_csat_at_most, settings.alert_nps_at_most),
        languages=CATALOGUES.keys(),
        audit=audit,
        followup_window=timedelta(days=settings.followup_window_days),
        # Offered to everyone who finishes: asking only happy patients (review gating)
        # breaks Google's review policy and FTC guidance.
        invites_review=settings.review_url is not None,
        # Only with a staff chat to see the number.
        offers_call=settings.staff_chat is not None,
    )
    # Staff messages and the command menu speak the clinic's language.
    texts = CATALOGUES[feedback.default_language]
    lanes = Lanes(database.person_lock)
    lifecycle = Lifecycle(
        database=database,
        handled_events=responses,
        retention_store=responses,
        clock=clock,
        texts=texts,
        retention=timedelta(days=settings.retention_days),
        audit=audit,
    )
    application = (
        ApplicationBuilder()
        .token(settings.token())
        .base_url(str(settings.api_url))
        .base_file_url(str(settings.api_url).replace("/bot", "/file/bot", 1))
        .post_init(lifecycle.post_init)
        .post_stop(lifecycle.post_stop)
        .post_shutdown(lifecycle.post_shutdown)
        # Updates come through `DurablePoller` (see `polling`), which stores them first.
        .updater(None)
        .update_queue(UpdateQueue())
        # Each person's updates in order, different people's at the same time.
        .concurrent_updates(PerPersonUpdateProcessor(lanes))
        .build()
    )
    if settings.staff_chat is not None:
        sender = TelegramAlertSender(
            application.bot, settings.staff_chat, surveys, texts, settings.alert_detail
        )
        lifecycle.alerts = AlertService(
            SqliteAlertStore(database),
            sender,
            clock,
            check_every=settings.alert_check_seconds,
            audit_trail=audit_trail,
        )
    followups = FollowupService(
        SqliteFollowupStore(database),
        responses,
        TelegramFollowupSender(
            application.bot, surveys, pacer or Pacer(settings.send_rate), settings.clinic_name
        ),
        surveys,
        clock,
        policy=settings.followup_policy(),
    )
    lifecycle.followups = followups
    lifecycle.followup_interval = settings.followup_check_seconds
    # Not for handlers (they get services through their constructors): tests and operators
    # reach the dispatcher here.
    application.bot_data[FOLLOWUPS_KEY] = followups
    # For `polling` below, in this module: python-telegram-bot has no other place to keep
    # what the update fetcher needs, and nothing else reads it.
    application.bot_data[INBOX_KEY] = SqliteInbox(database)
    application.bot_data[DATABASE_KEY] = database
    # For tests that send by hand: the bot's own first rounds are over once this returns.
    application.bot_data[CAUGHT_UP_KEY] = lifecycle.caught_up
    served: list[Routes] = []
    if settings.serves_intake:
        visits = VisitIntakeService(
            SqliteVisitEvents(database),
            invitation_service(settings, responses, surveys, clock),
            clock,
            rules=settings.delivery_rules(),
            pick_language=feedback.pick_language,
        )
        served.append(
            IntakeApi(
                visits,
                tuple(token.get_secret_value() for token in settings.api_tokens),
                lambda: application.bot.username,
                audit,
                webhooks=booking_webhooks(settings),
            )
        )
    smtp = settings.smtp_server()
    if smtp is not None and settings.mail_from is not None:
        messages = InvitationMessages(
            settings.mail_from,
            settings.clinic_name,
            surveys,
            lambda: application.bot.username,
            ZoneInfo(settings.timezone),
        )
        lifecycle.mail = MailService(
            SqliteInvitationMail(database),
            SmtpInvitationMailer(
                smtp,
                messages,
            ),
            clock,
            settings.followup_policy().send_hours,
        )
        # Like the follow-ups' dispatcher: for tests and operators, not for handlers.
        application.bot_data[MAIL_KEY] = lifecycle.mail
    cases = CaseService(
        SqliteCaseStore(database),
        clock,
        records=SqliteAlertStore(database),
        escalate_after=timedelta(hours=settings.case_escalate_hours),
        send_hours=settings.followup_policy().send_hours,
        audit=audit,
    )
    lifecycle.cases = cases
    reports = ReportService(
        SqliteReportStore(database),
        clock,
        surveys.score_questions(),
        surveys.followup_survey_ids,
        ZoneInfo(settings.timezone),
    )
    lifecycle.reports = reports
    patients = PatientHandlers(
        feedback,
        NoticeService(responses, clock, feedback.pick_language),
        lifecycle.alerts,
        lanes,
        ClinicProfile(
            name=settings.clinic_name,
            review_url=str(settings.review_url) if settings.review_url else None,
            team=roster.members,
            retention_days=settings.retention_days,
            survey_language=surveys.default_language,
        ),
        cases=cases,
    )
    lifecycle.patients = patients
    if settings.serves_http:
        served.append(
            Console(
                ConsoleAccess(
                    settings.token(),
                    roster,
                    timedelta(hours=settings.console_session_hours),
                ),
                reports,
                cases,
                surveys,
                texts,
                audit=audit,
                waking=CaseWaking(
                    alert_changed=lifecycle.alerts.wake if lifecycle.alerts else _nobody,
                    patient_owed=patients.deliver_soon,
                ),
                clinic_name=settings.clinic_name,
                timezone=settings.timezone,
            )
        )
        application.bot_data[HTTP_KEY] = HttpServing(tuple(served), settings.intake_address())
    lifecycle.owed_interval = settings.alert_check_seconds
    staff = StaffHandlers(
        reports,
        invitation_service(settings, responses, surveys, clock),
        surveys,
        texts,
        cases=cases,
        audit=audit,
        roster=roster,
        staff_chat=settings.staff_chat,
        clinic_name=settings.clinic_name,
        console_url=settings.console_url(),
    )
    lifecycle.staff = staff
    register_handlers(
        application,
        patient=patients,
        staff=staff,
        followups=FollowupHandlers(followups, feedback),
        guard=DeliveryGuard(feedback),
        private_taps=PrivateTapsOnly(feedback, settings.staff_chat),
        on_error=ErrorReply(feedback.default_language),
        cases=CaseHandlers(
            cases,
            texts,
            surveys,
            roster=roster,
            clinic_name=settings.clinic_name,
            alerts=lifecycle.alerts,
            deliver_to_patients=patients.deliver_soon,
        ),
        staff_chat=settings.staff_chat,
    )
    return application


def booking_webhooks(settings: Settings) -> tuple[BookingWebhook, ...]:
    """The booking systems' webhooks whose secrets are set."""
    zone = ZoneInfo(settings.timezone)
    webhooks: list[BookingWebhook] = []
    if settings.mindbody_signature_key is not None:
        webhooks.append(MindbodyWebhook(settings.mindbody_signature_key.get_secret_value(), zone))
    if settings.vagaro_verification_token is not None:
        webhooks.append(VagaroWebhook(settings.vagaro_verification_token.get_secret_value(), zone))
    return tuple(webhooks)


def _nobody() -> None:
    """No staff chat: no alert to edit."""


def clock_for(settings: Settings) -> Clock:
    """The real clock, or for tests the one `FEEDBACK_TEST_NOW` starts."""
    return SystemClock() if settings.test_now is None else ShiftedClock(settings.test_now)


def invitation_service(
    settings: Settings, store: InvitationStore, surveys: SurveyCatalog, clock: Clock
) -> InvitationService:
    """Invitations valid for `FEEDBACK_INVITATION_DAYS` (shared by the bot and the CLI)."""
    return InvitationService(store, surveys, clock, timedelta(days=settings.invitation_days))


@asynccontextmanager
async def polling(
    application: FeedbackApplication,
    poll_timeout: timedelta = timedelta(seconds=10),
    clock: Clock | None = None,
    startup_wait: timedelta = timedelta(0),
) -> AsyncIterator[FeedbackApplication]:
    """Poll until the block ends: the bot, the demo and the tests.

    The same start-up and shut-down steps as `run_polling`, hooks included; updates are
    fetched by `DurablePoller`, which stores each before Telegram is told it arrived. On the
    way out, updates already fetched are handled before the application stops.
    """
    async with _running(application, clock, startup_wait) as intake:
        listener = _api_listener(application)
        if listener is not None:
            await listener.start()
        poller = DurablePoller(
            application.bot, intake, allowed_updates=ALLOWED_UPDATES, poll_timeout=poll_timeout
        )
        fetching = asyncio.create_task(poller.run())
        try:
            yield application
        finally:
            fetching.cancel()
            await asyncio.gather(fetching, return_exceptions=True)
            if listener is not None:
                await listener.stop()


def _api_listener(application: FeedbackApplication) -> ApiListener | None:
    """Long polling's own HTTP listener (`FEEDBACK_HTTP_LISTEN`), if it is set."""
    serving = application.bot_data.get(HTTP_KEY)
    if not isinstance(serving, HttpServing) or serving.polling_address is None:
        return None
    host, port = serving.polling_address
    return ApiListener(serving.routes, host, port, _database(application).answers)


def _database(application: FeedbackApplication) -> Database:
    database = application.bot_data.get(DATABASE_KEY)
    if not isinstance(database, Database):  # pragma: no cover - build_application sets it
        raise TypeError("the application was not built by build_application")
    return database


@asynccontextmanager
async def webhook(
    application: FeedbackApplication,
    config: WebhookConfig,
    clock: Clock | None = None,
    startup_wait: timedelta = timedelta(0),
) -> AsyncIterator[FeedbackApplication]:
    """Serve Telegram's webhook until the block ends, as `polling` polls."""
    async with _running(application, clock, startup_wait) as intake:
        database = _database(application)
        serving = application.bot_data.get(HTTP_KEY)
        routes = serving.routes if isinstance(serving, HttpServing) else ()
        receiver = WebhookReceiver(application.bot, intake, config, database.answers, routes)
        await receiver.start()
        orphans = (
            asyncio.create_task(_adopt_orphans(intake, database)) if database.postgresql else None
        )
        try:
            # Several workers behind one address: the one that sends tells Telegram, once.
            if await database.dispatcher.leading():
                await register_webhook(application, config)
            yield application
        finally:
            if orphans is not None:
                await _cancel([orphans])
            await receiver.stop()


async def _adopt_orphans(intake: Intake, database: Database) -> None:
    # Updates another worker stored (and Telegram was told had arrived) but never handled:
    # it died meanwhile. The worker that sends handles them, once they are clearly orphans.
    while True:
        await asyncio.sleep(ORPHAN_AGE.total_seconds() / 2)
        try:
            if await database.dispatcher.leading():
                adopted = await intake.replay(received_before=intake.now() - ORPHAN_AGE)
                if adopted:
                    logger.warning("handled %d updates a stopped worker had received", adopted)
        except Exception:  # try again at the next round rather than stop for good
            logger.exception("handling updates a stopped worker had received failed")


async def register_webhook(application: FeedbackApplication, config: WebhookConfig) -> None:
    """Tell Telegram where to deliver updates (`feedback-bot set-webhook` calls it too)."""
    await application.bot.set_webhook(
        config.url,
        secret_token=config.secret,
        allowed_updates=ALLOWED_UPDATES,
        drop_pending_updates=False,
    )


@asynccontextmanager
async def _running(
    application: FeedbackApplication, clock: Clock | None, startup_wait: timedelta = timedelta(0)
) -> AsyncIterator[Intake]:
    """Initialise, run the hooks, start; on the way out finish what came in, and stop.

    `startup_wait`: how long to keep trying to reach Telegram at start (the network may
    come up after the bot, as at boot).
    """
    try:
        await _reach_telegram(application, startup_wait)
        if application.post_init is not None:
            await application.post_init(application)
        inbox = application.bot_data.get(INBOX_KEY)
        queue = application.update_queue
        if not isinstance(inbox, SqliteInbox) or not isinstance(queue, UpdateQueue):
            raise TypeError("the application was not built by build_application")
        await application.start()
        try:
            yield Intake(application.bot, inbox, clock or SystemClock(), queue)
        finally:
            try:
                await asyncio.wait_for(application.stop(), STOP_WAIT.total_seconds())
            except TimeoutError:
                logger.warning(
                    "stopping: updates still in flight after %d s are left for the next start",
                    STOP_WAIT.total_seconds(),
                )
            if application.post_stop is not None:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


# Waits between tries to reach Telegram at start: 1, 2, 4... seconds, 30 at most.
FIRST_STARTUP_RETRY = 1.0
LONGEST_STARTUP_RETRY = 30.0


async def _reach_telegram(application: FeedbackApplication, wait: timedelta) -> None:
    """`initialize` (which asks Telegram who the bot is), trying again while `wait` lasts.

    A token Telegram rejects is not retried: it will not get better by waiting.
    """
    deadline = time.monotonic() + wait.total_seconds()
    delay, attempt = FIRST_STARTUP_RETRY, 1
    while True:
        try:
            await application.initialize()
        except InvalidToken:
            raise
        except NetworkError as exc:  # TimedOut is one too
            if time.monotonic() + delay > deadline:
                raise
            logger.warning(
                "cannot reach Telegram (%s); trying again in %.0f s (attempt %d)",
                network_problem(exc),
                delay,
                attempt,
            )
            await asyncio.sleep(delay)
            delay, attempt = min(delay * 2, LONGEST_STARTUP_RETRY), attempt + 1
        else:
            return


def network_problem(error: NetworkError) -> str:
    """What went wrong reaching Telegram, in a few words (never the URL: it holds the token)."""
    text = str(error).lower()
    if isinstance(error, TimedOut):
        return "no answer in time"
    if "name or service not known" in text or "nodename nor servname" in text:
        return "the name does not resolve: DNS, or no network"
    if "temporary failure in name resolution" in text or "getaddrinfo" in text:
        return "the name does not resolve: DNS, or no network"
    if "connection refused" in text or "all connection attempts failed" in text:
        return "connection refused"
    if "unreachable" in text:
        return "network unreachable"
    return "network error"


def run(settings: Settings) -> Stopped:
    """Run the bot until SIGINT or SIGTERM: webhook mode if a URL is set, else polling.

    A signal during start-up (waiting for Telegram, migrating, building the daily totals,
    replaying the inbox) stops it within `STARTUP_STOP_DEADLINE`, too.
    """
    config = webhook_config(settings)
    clock = clock_for(settings)
    application = build_application(settings, clock=clock)
    return asyncio.run(
        _serve(
            application,
            config,
            clock,
            timedelta(seconds=settings.startup_wait_seconds),
            StartupFacts(
                database=shown(settings.db),
                staff_chat=settings.staff_chat is not None,
                surveys=str(settings.surveys) if settings.surveys else "built-in",
                mode="long polling" if config is None else f"webhook {config.url}",
            ),
        )
    )


@dataclass(frozen=True, slots=True)
class Stopped:
    """How `run` ended: the signal that stopped it, and whether start-up had finished."""

    by: signal.Signals
    started: bool

    def line(self) -> str:
        """What the operator reads as the bot's last word."""
        when = "" if self.started else " before start-up finished"
        return f"stopped by {self.by.name}{when}"

    @property
    def exit_status(self) -> int:
        """0 for a requested stop (SIGTERM), 130 for Ctrl-C, as shells expect."""
        return 130 if self.by is signal.SIGINT else 0


@dataclass(frozen=True, slots=True)
class StartupFacts:
    """What the start-up line says besides the bot's @username."""

    database: str
    staff_chat: bool
    surveys: str
    mode: str

    def line(self, username: str) -> str:
        """One line an operator reads to know the bot runs, and how."""
        staff = "set" if self.staff_chat else "not set (alerts off)"
        return (
            f"started as @{username} · database {self.database} · staff chat {staff} · "
            f"surveys {self.surveys} · {self.mode}"
        )


def webhook_config(settings: Settings) -> WebhookConfig | None:
    """Webhook mode's settings, if `FEEDBACK_WEBHOOK_URL` is set."""
    if settings.webhook_url is None or settings.webhook_secret is None:
        return None
    host, port = settings.listen_address()
    return WebhookConfig(
        url=str(settings.webhook_url),
        secret=settings.webhook_secret.get_secret_value(),
        path=settings.webhook_url.path or "/",
        host=host,
        port=port,
    )


async def _serve(
    application: FeedbackApplication,
    config: WebhookConfig | None,
    clock: Clock,
    startup_wait: timedelta,
    facts: StartupFacts,
) -> Stopped:
    loop = asyncio.get_running_loop()
    signalled: asyncio.Future[signal.Signals] = loop.create_future()

    def on_signal(received: signal.Signals) -> None:
        if not signalled.done():
            signalled.set_result(received)
            # Updates queued and not yet started (a long replay after an outage, say) stay
            # in the inbox for the next start rather than hold up the stop.
            _processor(application).leave_waiting()

    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, on_signal, stop_signal)
    receiving = (
        polling(application, clock=clock, startup_wait=startup_wait)
        if config is None
        else webhook(application, config, clock=clock, startup_wait=startup_wait)
    )
    async with AsyncExitStack() as running:
        starting = asyncio.ensure_future(running.enter_async_context(receiving))
        first: list[asyncio.Future[Any]] = [starting, signalled]
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            return await _abandon_start(starting, Stopped(signalled.result(), started=False))
        starting.result()  # start-up's own errors (a rejected token...) end the run here
        logger.info("%s", facts.line(application.bot.username))
        by = await signalled
        logger.info(
            "stopping: finishing the updates being handled; the rest wait in the inbox for "
            "the next start"
        )
    return Stopped(by, started=True)


# From a signal during start-up to the process's end, at the most (systemd and Docker wait
# longer, but an operator pressing Ctrl-C should not think it hung).
STARTUP_STOP_DEADLINE = timedelta(seconds=1.5)


async def _abandon_start(starting: asyncio.Future[Any], stopped: Stopped) -> Stopped:
    """Cancel start-up; if a database statement holds it past the deadline, exit anyway.

    Exiting mid-statement is what a crash does, and the database is built for that: an
    unfinished migration or totals build is one transaction, rolled back at the next open.
    """
    starting.cancel()
    done, _ = await asyncio.wait([starting], timeout=STARTUP_STOP_DEADLINE.total_seconds())
    if not done:
        sys.stderr.write(f"feedback-bot: {stopped.line()}\n")
        sys.stderr.flush()
        os._exit(stopped.exit_status)
    # Cancelled, or failed meanwhile (an error the stop makes moot): retrieved either way,
    # so that asyncio does not print it at exit.
    with suppress(asyncio.CancelledError, Exception):
        starting.result()
    return stopped


def _processor(application: FeedbackApplication) -> PerPersonUpdateProcessor:
    processor = application.update_processor
    if not isinstance(processor, PerPersonUpdateProcessor):  # pragma: no cover
        raise TypeError("the application was not built by build_application")
    return processor
