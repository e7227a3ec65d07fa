"""Announced visits reach their patients by themselves: in Telegram if linked, else by e-mail.

A real SMTP server (aiosmtpd) receives the e-mail; Telegram is the fake Bot API server.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr

from bot.app import CAUGHT_UP_KEY, FOLLOWUPS_KEY, MAIL_KEY
from bot.local_telegram import Person
from bot.services.followups import FollowupService
from bot.services.mail import MailReport, MailService
from bot.settings import Settings
from handlers.registry import FeedbackApplication
from tests.fake_telegram import FakeTelegram, Fault
from tests.harness import ADMIN_ID, FakeClock, free_port, make_settings, running_bot
from tests.storage_view import rows_in, rows_of
from tests.test_cli import run_cli_async
from tests.test_intake_api import TOKEN, post

ADDRESS = "ana@example.org"
SENDER = "feedback@glow.example"


class Mailbox:
    """An SMTP server's handler: keeps what it accepts, refuses what it is told to."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.refusals: list[str] = []
        """Replies to DATA, one per message, before accepting again."""
        self.unknown: set[str] = set()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, _: SMTP, __: Session, envelope: Envelope, address: str, ___: list[str]
    ) -> str:
        if address in self.unknown:
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, _: SMTP, __: Session, envelope: Envelope
    ) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        content = envelope.content
        assert isinstance(content, bytes)
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 2.0.0 Ok: queued"


class MailServer:
    """aiosmtpd on a loopback port, which a test can stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def delivery_settings(
    telegram: FakeTelegram, database_location: Path | str, mail_server: MailServer
) -> Settings:
    return make_settings(
        telegram,
        database_location,
        api_tokens=(SecretStr(TOKEN),),
        http_listen=f"127.0.0.1:{free_port()}",
        smtp_url=SecretStr(f"smtp://127.0.0.1:{mail_server.port}"),
        mail_from=SENDER,
        # The tests send by hand (`send_mail`): the bot's own round, at start and then every
        # interval, must not take an e-mail first on a slow machine (it did, once, after 60 s).
        followup_check_seconds=3600,
    )


@pytest.fixture
async def delivering_bot(
    delivery_settings: Settings, clock: FakeClock
) -> AsyncIterator[FeedbackApplication]:
    async with caught_up_bot(delivery_settings, clock) as application:
        yield application


@asynccontextmanager
async def caught_up_bot(
    settings: Settings, clock: FakeClock
) -> AsyncIterator[FeedbackApplication]:
    """The bot, once its own first sending rounds are over.

    The tests send by hand (`send_mail`, `send_surveys`) and count what each round did: the
    bot's round at start must not take a visit announced after it (it did, twice, with two
    test workers busy).
    """
    async with running_bot(settings, clock) as application:
        await asyncio.wait_for(application.bot_data[CAUGHT_UP_KEY](), 30)
        yield application


def visit(
    event_id: str,
    clock: FakeClock,
    *,
    email: str | None = None,
    provider: str = "Dr Li",
    **patient: str,
) -> dict[str, Any]:
    """A visit that ended three hours ago (the invitation delay is two hours)."""
    ended = clock.now() - timedelta(hours=3)
    person: dict[str, Any] = {"id": "cust-7", **patient}
    if email is not None:
        person["email"] = email
    return {
        "event_id": event_id,
        "patient": person,
        "treatment": "Botox",
        "provider": provider,
        "location": "Downtown",
        "visit_at": ended.isoformat(),
    }


async def announce(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    status, answer, _ = await post(f"http://{settings.http_listen}/api/v1/visits", event)
    assert status == 201, answer
    return answer


async def send_mail(application: FeedbackApplication) -> MailReport:
    service = application.bot_data[MAIL_KEY]
    assert isinstance(service, MailService)
    return await service.dispatch()


async def send_surveys(application: FeedbackApplication) -> int:
    service = application.bot_data[FOLLOWUPS_KEY]
    assert isinstance(service, FollowupService)
    report = await service.dispatch()
    return report.sent


def parts(message: EmailMessage) -> tuple[str, str, list[EmailMessage]]:
    """The plain text, the HTML, and the images inline in the HTML."""
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert isinstance(plain, EmailMessage)
    assert isinstance(html, EmailMessage)
    images = [part for part in message.walk() if part.get_content_maintype() == "image"]
    return plain.get_content(), html.get_content(), images


async def link_in_telegram(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock, chat_id: int
) -> Person:
    """The booking system's patient cust-7 opens its first invitation and agrees."""
    answer = await announce(settings, visit("first-visit", clock))
    assert answer["delivery"] == "none"  # not linked yet, and no address
    patient = telegram.patient(chat_id)
    await patient.send(f"/start {answer['code']}")
    consent = (await patient.next_message()).text
    assert "booking system" in consent  # the consent says what agreeing links
    await patient.tap("I agree")
    assert (await patient.next_message()).text.startswith("Question 1 of 3")
    await patient.tap("5")
    await patient.next_message()
    await patient.tap("10")
    await patient.next_message()
    await patient.tap("Skip")
    assert "Thank you" in (await patient.next_message()).text
    return patient


@pytest.mark.usefixtures("delivering_bot")
async def test_a_returning_patient_is_asked_in_telegram_about_their_next_visit(
    telegram: FakeTelegram,
    delivery_settings: Settings,
    clock: FakeClock,
    delivering_bot: FeedbackApplication,
    tmp_path: Path,
) -> None:
    patient = await link_in_telegram(telegram, delivery_settings, clock, 701)
    clock.advance(days=31)  # past the survey gap
    answer = await announce(delivery_settings, visit("second-visit", clock, provider="Dr Ruiz"))
    assert answer["delivery"] == "telegram"
    assert await send_surveys(delivering_bot) == 1
    asked = await patient.next_message()
    # The intro and the first question in one message, about this visit.
    assert asked.text.startswith("Thank you for visiting Glow Aesthetics for your Botox")
    assert "Question 1 of 3" in asked.text
    # The visit's link is theirs now: someone else who has it cannot answer for them.
    stranger = telegram.patient(799)
    await stranger.send(f"/start {answer['code']}")
    assert "already been used" in (await stranger.next_message()).text
    await patient.tap("2")
    assert (await patient.next_message()).text.startswith("Question 2 of 3")
    status, out, _ = await run_cli_async(
        tmp_path, "export", "--format", "jsonl", FEEDBACK_DB=str(delivery_settings.db)
    )
    assert status == 0
    records = [json.loads(line) for line in out.splitlines()]
    latest = max(records, key=lambda record: str(record["started_at"]))
    assert latest["visit"]["provider"] == "Dr Ruiz"  # the second visit's survey
    assert latest["answers"]["csat"] == 2
    # A third visit within FEEDBACK_SURVEY_GAP_DAYS: nobody asks again.
    clock.advance(days=3)
    again = await announce(delivery_settings, visit("third-visit", clock))
    assert again["delivery"] == "none"


@pytest.mark.usefixtures("delivering_bot")
async def test_a_linked_patient_in_another_survey_is_asked_only_after_it(
    telegram: FakeTelegram,
    delivery_settings: Settings,
    clock: FakeClock,
    delivering_bot: FeedbackApplication,
) -> None:
    patient = await link_in_telegram(telegram, delivery_settings, clock, 702)
    clock.advance(days=31)
    await patient.send("/start")  # a survey of their own, under way
    assert (await patient.next_message()).text == "Which treatment did you have?"
    answer = await announce(delivery_settings, visit("second-visit", clock))
    assert answer["delivery"] == "telegram"
    assert await send_surveys(delivering_bot) == 0
    await patient.send("/cancel")
    await patient.next_message()
    assert await send_surveys(delivering_bot) == 1
    assert (await patient.next_message()).text.startswith("Thank you for visiting")


@pytest.mark.usefixtures("delivering_bot")
async def test_a_linked_patient_who_blocked_the_bot_is_emailed_instead(
    telegram: FakeTelegram,
    delivery_settings: Settings,
    clock: FakeClock,
    delivering_bot: FeedbackApplication,
    mail_server: MailServer,
) -> None:
    await link_in_telegram(telegram, delivery_settings, clock, 703)
    clock.advance(days=31)
    answer = await announce(delivery_settings, visit("second-visit", clock, email=ADDRESS))
    assert answer["delivery"] == "telegram"
    [held] = await rows_of(delivery_settings.db, "invitation_mail")
    assert (held["status"], held["address"]) == ("held", ADDRESS)  # only in case Telegram fails
    telegram.fail_next(
        "sendMessage", Fault(403, "Forbidden: bot was blocked by the user", chat_id=703)
    )
    assert await send_surveys(delivering_bot) == 0
    assert (await send_mail(delivering_bot)).sent == 1
    assert mail_server.mailbox.recipients == [[ADDRESS]]
    # Blocked: the next visit goes straight to e-mail.
    clock.advance(days=31)
    later = await announce(delivery_settings, visit("third-visit", clock, email=ADDRESS))
    assert later["delivery"] == "email"


@pytest.mark.usefixtures("delivering_bot")
async def test_a_survey_delivered_in_telegram_erases_the_address_kept_for_e_mail(
    telegram: FakeTelegram,
    delivery_settings: Settings,
    clock: FakeClock,
    delivering_bot: FeedbackApplication,
    mail_server: MailServer,
) -> None:
    await link_in_telegram(telegram, delivery_settings, clock, 704)
    clock.advance(days=31)
    await announce(delivery_settings, visit("second-visit", clock, email=ADDRESS))
    assert await send_surveys(delivering_bot) == 1
    assert await rows_of(delivery_settings.db, "invitation_mail") == []
    assert (await send_mail(delivering_bot)).sent == 0
    assert mail_server.mailbox.messages == []


@pytest.mark.usefixtures("delivering_bot")
async def test_stop_sends_the_next_visit_by_email_and_forget_erases_the_link(
    telegram: FakeTelegram,
    delivery_settings: Settings,
    clock: FakeClock,
) -> None:
    patient = await link_in_telegram(telegram, delivery_settings, clock, 705)
    assert len(await rows_of(delivery_settings.db, "patient_links")) == 1
    await patient.send("/stop")
    await patient.next_message()
    clock.advance(days=31)
    stopped = await announce(delivery_settings, visit("second-visit", clock, email=ADDRESS))
    assert stopped["delivery"] == "email"
    await patient.send("/forget")
    await patient.next_message()
    await patient.tap("Yes, erase everything")
    await telegram.wait_for(lambda: "erased" in telegram.messages_to(705)[-1].text)
    assert await rows_of(delivery_settings.db, "patient_links") == []
    clock.advance(days=31)
    forgotten = await announce(delivery_settings, visit("third-visit", clock))
    assert forgotten["delivery"] == "none"


@pytest.mark.usefixtures("delivering_bot")
async def test_an_e_mail_invitation_arrives_in_the_patients_language_with_link_and_qr_code(
    delivery_settings: Settings,
    clock: FakeClock,
    delivering_bot: FeedbackApplication,
    mail_server: MailServer,
) -> None:
    event = visit(
        "mail-visit",
        clock,
        email=ADDRESS,
        language="es",
        first_name="<img src=x onerror=alert(1)>",
    )
    answer = await announce(delivery_settings, event)
    assert answer["delivery"] == "email"
    assert (await send_mail(delivering_bot)).sent == 1
    [message] = mail_server.mailbox.messages
    assert mail_server.mailbox.recipients == [[ADDRESS]]
    assert message["Subject"] == "¿Qué tal su visita a Glow Aesthetics?"
    assert message["From"] == f"Glow Aesthetics <{SENDER}>"
    plain, html, [qr] = parts(message)
    assert answer["link"] in plain
    assert f'href="{answer["link"]}"' in html
    assert "cid:qr-code" in html
    assert qr["Content-ID"] == "<qr-code>"
    assert qr.get_content().startswith(b"\x89PNG")
    # The name the booking system sent is text, never markup.
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # Accepted: the address is no longer stored anywhere.
    [sent] = await rows_of(delivery_settings.db, "invitation_mail")
    assert (sent["status"], sent["address"], sent["first_name"]) == ("sent", None, None)
    assert (await send_mail(delivering_bot)).sent == 0


@pytest.mark.usefixtures("delivering_bot")
async def test_a_server_that_says_try_later_gets_the_invitation_once_later(
    delivery_settings: Settings,
    clock: FakeClock,
    delivering_bot: FeedbackApplication,
    mail_server: MailServer,
) -> None:
    mail_server.mailbox.refusals = ["451 4.3.0 Temporary failure, try again later"]
    await announce(delivery_settings, visit("mail-visit", clock, email=ADDRESS))
    assert (await send_mail(delivering_bot)).deferred == 1
    assert (await send_mail(delivering_bot)).sent == 0  # not before its retry time
    clock.advance(minutes=1)
    assert (await send_mail(delivering_bot)).sent == 1
    assert len(mail_server.mailbox.messages) == 1


@pytest.mark.usefixtures("delivering_bot")
async def test_a_server_that_is_down_for_a_while_gets_the_invitation_when_back(
    delivery_settings: Settings,
    clock: FakeClock,
    delivering_bot: FeedbackApplication,
    mail_server: MailServer,
) -> None:
    mail_server.stop()
    await announce(delivery_settings, visit("mail-visit", clock, email=ADDRESS))
    for _ in range(3):
        assert (await send_mail(delivering_bot)).deferred == 1
        clock.advance(minutes=10)
    [waiting] = await rows_of(delivery_settings.db, "invitation_mail")
    assert (waiting["status"], waiting["address"]) == ("due", ADDRESS)
    mail_server.start()
    assert (await send_mail(delivering_bot)).sent == 1
    assert len(mail_server.mailbox.messages) == 1


@pytest.mark.usefixtures("delivering_bot")
async def test_a_permanent_refusal_is_recorded_and_the_address_erased(
    delivery_settings: Settings,
    clock: FakeClock,
    delivering_bot: FeedbackApplication,
    mail_server: MailServer,
    tmp_path: Path,
) -> None:
    mail_server.mailbox.unknown.add(ADDRESS)
    await announce(delivery_settings, visit("mail-visit", clock, email=ADDRESS))
    assert (await send_mail(delivering_bot)).refused == 1
    [refused] = await rows_of(delivery_settings.db, "invitation_mail")
    assert (refused["status"], refused["outcome"], refused["address"]) == (
        "refused",
        "550 5.1.1",  # the reply's code, not its text: that quotes the address
        None,
    )
    clock.advance(days=1)
    assert (await send_mail(delivering_bot)).refused == 0
    status, out, _ = await run_cli_async(tmp_path, "visits", FEEDBACK_DB=str(delivery_settings.db))
    assert status == 0
    assert "e-mail refused (550 5.1.1)" in out
    assert ADDRESS not in out


async def test_a_restart_between_receipt_and_delivery_sends_the_invitation_once(
    delivery_settings: Settings, clock: FakeClock, mail_server: MailServer
) -> None:
    async with caught_up_bot(delivery_settings, clock):
        event = visit("mail-visit", clock, email=ADDRESS)
        event["visit_at"] = clock.now().isoformat()  # due in two hours
        answer = await announce(delivery_settings, event)
        assert answer["delivery"] == "email"
    clock.advance(hours=2)
    async with caught_up_bot(delivery_settings, clock) as application:
        # The restarted bot sends what it owes at once, by itself.
        for _ in range(200):
            if mail_server.mailbox.messages:
                break
            await asyncio.sleep(0.05)
        assert (await send_mail(application)).sent == 0
    assert len(mail_server.mailbox.messages) == 1
    assert await rows_in(delivery_settings.db, "invitation_mail") == {"invitation_mail": 1}


@pytest.mark.usefixtures("delivering_bot")
async def test_the_summary_counts_announced_visits_per_channel(
    telegram: FakeTelegram,
    delivery_settings: Settings,
    clock: FakeClock,
    delivering_bot: FeedbackApplication,
    tmp_path: Path,
) -> None:
    patient = await link_in_telegram(telegram, delivery_settings, clock, 706)  # link only: done
    clock.advance(days=31)
    await announce(delivery_settings, visit("in-telegram", clock))
    assert await send_surveys(delivering_bot) == 1
    await patient.next_message()
    await patient.tap("4")  # opened, not completed
    await patient.next_message()
    await announce(delivery_settings, visit("by-mail", clock, email=ADDRESS, id="cust-8"))
    await announce(delivery_settings, visit("link-only", clock, id="cust-9"))
    admin = telegram.patient(ADMIN_ID)
    await admin.send("/summary all")
    report = (await admin.next_message()).text
    assert "<b>Visits from the booking system</b>: 4 received" in report
    assert "• asked in Telegram: 1 · 1 opened · 0 completed (0%)" in report
    assert "• invited by e-mail: 1 · 0 opened · 0 completed (0%)" in report
    assert "• link only: 2 · 1 opened · 1 completed (50%)" in report
    # The command line says the same, in plain text.
    status, out, _ = await run_cli_async(
        tmp_path, "summary", "--period", "all", FEEDBACK_DB=str(delivery_settings.db)
    )
    assert status == 0
    assert "Visits from the booking system: 4 received" in out
    assert "• link only: 2 · 1 opened · 1 completed (50%)" in out


async def test_check_config_online_tries_the_smtp_server(
    telegram: FakeTelegram, mail_server: MailServer, tmp_path: Path
) -> None:
    online = {
        "FEEDBACK_BOT_TOKEN": telegram.token,
        "FEEDBACK_API_URL": telegram.api_url,
        "FEEDBACK_MAIL_FROM": SENDER,
        "FEEDBACK_SMTP_URL": f"smtp://127.0.0.1:{mail_server.port}",
    }
    status, out, _ = await run_cli_async(tmp_path, "check-config", "--online", **online)
    assert status == 0
    assert f"e-mail invitations: from {SENDER} through 127.0.0.1:{mail_server.port}" in out
    assert f"e-mail: 127.0.0.1:{mail_server.port} takes the bot's connection" in out
    mail_server.stop()
    status, _, err = await run_cli_async(tmp_path, "check-config", "--online", **online)
    assert status != 0
    assert f"FEEDBACK_SMTP_URL: cannot reach 127.0.0.1:{mail_server.port}" in err


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A mail server's certificate for 127.0.0.1, made for this test run."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@dataclass
class TlsMailServer:
    """aiosmtpd with a certificate: STARTTLS required (smtp://), or TLS at once (smtps://)."""

    scheme: str
    port: int
    mailbox: Mailbox
    certificate: Path


@pytest.fixture(params=["smtp", "smtps"])
def tls_mail_server(
    request: pytest.FixtureRequest, certificate: tuple[Path, Path]
) -> Iterator[TlsMailServer]:
    scheme: str = request.param
    server = TlsMailServer(scheme, free_port(), Mailbox(), certificate[0])
    tls = server_tls(certificate)
    # smtp://: the server offers STARTTLS and refuses mail without it; smtps://: TLS at once.
    options: dict[str, Any] = (
        {"tls_context": tls, "require_starttls": True}
        if scheme == "smtp"
        else {"ssl_context": tls}
    )
    controller = Controller(server.mailbox, hostname="127.0.0.1", port=server.port, **options)
    controller.start()
    yield server
    controller.stop()


async def test_the_invitation_goes_over_tls_starttls_when_offered_or_from_the_start(
    telegram: FakeTelegram,
    database_location: Path | str,
    clock: FakeClock,
    tls_mail_server: TlsMailServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = tls_mail_server
    settings = make_settings(
        telegram,
        database_location,
        api_tokens=(SecretStr(TOKEN),),
        http_listen=f"127.0.0.1:{free_port()}",
        smtp_url=SecretStr(f"{server.scheme}://127.0.0.1:{server.port}"),
        mail_from=SENDER,
    )
    async with caught_up_bot(settings, clock) as application:
        await announce(settings, visit("tls-visit", clock, email=ADDRESS))
        # A certificate this machine does not trust: nothing is sent in the clear instead.
        assert (await send_mail(application)).deferred == 1
        assert server.mailbox.messages == []
        monkeypatch.setenv("SSL_CERT_FILE", str(server.certificate))
        clock.advance(minutes=1)
        assert (await send_mail(application)).sent == 1
    assert server.mailbox.recipients == [[ADDRESS]]


async def test_the_survey_waits_for_the_invite_delay_and_survives_a_restart(
    telegram: FakeTelegram, delivery_settings: Settings, clock: FakeClock
) -> None:
    async with caught_up_bot(delivery_settings, clock) as application:
        patient = await link_in_telegram(telegram, delivery_settings, clock, 707)
        clock.advance(days=31)
        event = visit("second-visit", clock)
        event["visit_at"] = clock.now().isoformat()  # just ended: asked in two hours
        assert (await announce(delivery_settings, event))["delivery"] == "telegram"
        assert await send_surveys(application) == 0
        clock.advance(minutes=119)
        assert await send_surveys(application) == 0
    clock.advance(minutes=1)
    async with caught_up_bot(delivery_settings, clock) as application:
        # The restarted bot sends what is due at once, by itself; never twice.
        asked = await patient.next_message()
        assert asked.text.startswith("Thank you for visiting Glow Aesthetics")
        assert await send_surveys(application) == 0


async def test_retention_erases_a_link_no_visit_renewed(
    telegram: FakeTelegram, delivery_settings: Settings, clock: FakeClock
) -> None:
    settings = delivery_settings.model_copy(update={"retention_days": 90, "survey_gap_days": 0})
    async with caught_up_bot(settings, clock):
        await link_in_telegram(telegram, settings, clock, 708)
        patient = (await rows_of(settings.db, "patient_links"))[0]["patient_id"]
    clock.advance(days=60)
    async with caught_up_bot(settings, clock) as application:
        # A visit 60 days later, asked in Telegram: the link counts from it now. Sent by
        # hand, or by the bot's own first round if that one is still under way.
        await announce(settings, visit("renewing-visit", clock))
        await send_surveys(application)
        await telegram.wait_for(
            lambda: telegram.messages_to(708)[-1].text.startswith("Thank you for visiting")
        )
    clock.advance(days=31)
    async with caught_up_bot(settings, clock):
        pass
    assert [row["patient_id"] for row in await rows_of(settings.db, "patient_links")] == [patient]
    clock.advance(days=60)  # 91 days after that visit: nothing renewed it
    async with caught_up_bot(settings, clock):
        pass
    assert await rows_of(settings.db, "patient_links") == []
