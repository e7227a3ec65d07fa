"""The staff console: opened from the bot, signed in by Telegram's launch data, over HTTP.

What the page shows is tested in a real browser in tests/test_console_browser.py.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.services.staff import ReportService
from bot.settings import Settings
from handlers.registry import FeedbackApplication
from handlers.texts import CATALOGUES
from tests.console_launch import signed_launch
from tests.fake_telegram import FakeTelegram
from tests.harness import (
    ADMIN_ID,
    STAFF_CHAT,
    FakeClock,
    free_port,
    make_settings,
    running_bot,
    webhook_bot,
)
from tests.test_audit import audit_entries
from tests.test_cases import alert_when, case_messages, unhappy_patient
from tests.test_cli import run_cli
from tests.test_patient_flow import answer_all

EN = CATALOGUES["en"]

PUBLIC_URL = "https://feedback.glow.example"
ADMIN = {"id": ADMIN_ID, "first_name": "Dana", "language_code": "en"}


@pytest.fixture
def console_settings(telegram: FakeTelegram, database_location: Path | str) -> Settings:
    return make_settings(
        telegram,
        database_location,
        http_listen=f"127.0.0.1:{free_port()}",
        public_url=PUBLIC_URL,
        timezone="America/New_York",
    )


@pytest.fixture
async def console_bot(
    console_settings: Settings, clock: FakeClock
) -> AsyncIterator[FeedbackApplication]:
    async with running_bot(console_settings, clock) as application:
        yield application


def console_url(settings: Settings, path: str = "") -> str:
    return f"http://{settings.http_listen}/console/{path}"


async def call(
    settings: Settings, path: str, launch: str | None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {} if launch is None else {"Authorization": f"tma {launch}"}
    async with (
        ClientSession() as session,
        session.get(console_url(settings, f"api/{path}"), headers=headers) as reply,
    ):
        return reply.status, await reply.json(), dict(reply.headers)


@pytest.mark.usefixtures("console_bot")
async def test_console_in_a_private_chat_gives_an_admin_the_button_that_opens_it(
    telegram: FakeTelegram,
) -> None:
    admin = telegram.patient(ADMIN_ID)
    await admin.send("/console")
    reply = await admin.next_message()
    assert reply.reply_markup is not None
    [[button]] = reply.reply_markup["inline_keyboard"]
    assert button == {"text": "Open the console", "web_app": {"url": f"{PUBLIC_URL}/console/"}}
    # And the chat's menu button opens it too, set for each admin at start.
    assert telegram.menu_buttons[ADMIN_ID] == {
        "type": "web_app",
        "text": "Open the console",
        "web_app": {"url": f"{PUBLIC_URL}/console/"},
    }


@pytest.mark.usefixtures("console_bot")
async def test_console_in_the_staff_group_says_to_open_it_from_a_private_chat(
    telegram: FakeTelegram,
) -> None:
    in_group = telegram.in_group(telegram.patient(ADMIN_ID), STAFF_CHAT)
    await in_group.send("/console")
    reply = await in_group.next_message()
    assert reply.text.startswith("Telegram opens the console from a private chat only")
    assert reply.reply_markup is None


@pytest.mark.usefixtures("console_bot")
async def test_console_for_someone_not_an_admin_is_refused(telegram: FakeTelegram) -> None:
    stranger = telegram.patient(4242)
    await stranger.send("/console")
    assert (await stranger.next_message()).text == CATALOGUES["en"].staff_only


async def test_console_without_a_public_address_says_what_the_operator_sets(
    telegram: FakeTelegram, database_location: Path | str, clock: FakeClock
) -> None:
    settings = make_settings(telegram, database_location)
    async with running_bot(settings, clock):
        admin = telegram.patient(ADMIN_ID)
        await admin.send("/console")
        assert "FEEDBACK_PUBLIC_URL" in (await admin.next_message()).text


@pytest.mark.usefixtures("console_bot")
async def test_the_page_is_served_whole_from_the_bot_and_small(
    console_settings: Settings,
) -> None:
    total = 0
    async with ClientSession() as session:
        for path in ("", "console.js", "console.css"):
            async with session.get(console_url(console_settings, path)) as reply:
                assert reply.status == 200
                body = await reply.text()
                total += len(body.encode())
                assert (
                    "frame-ancestors https://web.telegram.org"
                    in reply.headers["Content-Security-Policy"]
                )
                assert "Set-Cookie" not in reply.headers
                # Nothing is fetched from anywhere but the bot itself.
                assert not re.search(r"(src|href)=\"?https?://", body)
                assert "//cdn" not in body
    assert total < 300_000


@pytest.mark.usefixtures("console_bot")
async def test_a_signed_admin_gets_the_same_figures_as_summary(
    telegram: FakeTelegram, console_settings: Settings, clock: FakeClock
) -> None:
    for user_id, (csat, nps) in enumerate([("5", "10"), ("2", "3"), ("4", "8")], start=900):
        patient = telegram.patient(user_id)
        await answer_all(patient, csat, nps, None)
        assert "Thank you" in (await patient.next_message()).text
    launch = signed_launch(telegram.token, ADMIN, clock.now())
    status, me, headers = await call(console_settings, "me", launch)
    assert status == 200
    assert (me["first_name"], me["clinic"], me["language"]) == ("Dana", "Glow Aesthetics", "en")
    assert me["words"] == CATALOGUES["en"].console_page
    assert "Set-Cookie" not in headers
    status, figures, _ = await call(console_settings, "overview?period=30d", launch)
    assert status == 200
    admin = telegram.patient(ADMIN_ID)
    await admin.send("/summary 30d")
    summary = (await admin.next_message()).text
    assert f"Responses: {figures['started']} started, {figures['completed']} completed" in summary
    assert f"CSAT: {figures['csat_mean']:.2f} / 5" in summary
    assert f"NPS: {figures['nps']:+.0f}" in summary
    assert (figures["started"], figures["nps"]) == (3, 0)
    status, trend, _ = await call(console_settings, "trend?span=12w", launch)
    assert status == 200
    assert len(trend["points"]) == 12
    assert sum(point["responses"] for point in trend["points"]) == 3


@pytest.mark.usefixtures("console_bot")
@pytest.mark.parametrize(
    "launch",
    [
        pytest.param(None, id="no launch data"),
        pytest.param("", id="empty"),
        pytest.param("user=%7B%22id%22%3A777%7D&auth_date=1&hash=00", id="made up"),
        pytest.param("signed by another bot", id="another bot"),
        pytest.param("changed user", id="user changed after signing"),
        pytest.param("expired", id="signed 25 hours ago"),
        pytest.param("future", id="signed in the future"),
    ],
)
async def test_a_forged_or_expired_launch_gets_401_and_no_data(
    telegram: FakeTelegram, console_settings: Settings, clock: FakeClock, launch: str | None
) -> None:
    now = clock.now()
    match launch:
        case "signed by another bot":
            launch = signed_launch("999999:another-bots-token", ADMIN, now)
        case "changed user":
            genuine = signed_launch(telegram.token, {**ADMIN, "id": 4242}, now)
            launch = genuine.replace("4242", str(ADMIN_ID))
        case "expired":
            launch = signed_launch(telegram.token, ADMIN, now - timedelta(hours=25))
        case "future":
            launch = signed_launch(telegram.token, ADMIN, now + timedelta(hours=1))
    for path in ("me", "overview", "trend"):
        status, body, headers = await call(console_settings, path, launch)
        assert status == 401
        assert set(body) == {"error", "message"}
        assert body["message"] == CATALOGUES["en"].console_page["refused"]
        assert "Content-Security-Policy" in headers


@pytest.mark.usefixtures("console_bot")
async def test_a_valid_launch_by_someone_not_an_admin_gets_403(
    telegram: FakeTelegram, console_settings: Settings, clock: FakeClock
) -> None:
    launch = signed_launch(telegram.token, {"id": 4242, "first_name": "Sam"}, clock.now())
    status, body, _ = await call(console_settings, "overview", launch)
    assert status == 403
    assert body == {"error": "not_team", "message": CATALOGUES["en"].console_page["not_team"]}


async def test_the_session_lasts_as_long_as_the_setting_says(
    telegram: FakeTelegram, console_settings: Settings, clock: FakeClock
) -> None:
    settings = console_settings.model_copy(update={"console_session_hours": 2})
    async with running_bot(settings, clock):
        fresh = signed_launch(telegram.token, ADMIN, clock.now() - timedelta(minutes=110))
        stale = signed_launch(telegram.token, ADMIN, clock.now() - timedelta(minutes=130))
        assert (await call(settings, "me", fresh))[0] == 200
        assert (await call(settings, "me", stale))[0] == 401


def test_every_language_words_the_whole_console() -> None:
    keys = {language: set(texts.console_page) for language, texts in CATALOGUES.items()}
    assert all(found == keys["en"] for found in keys.values())


async def test_in_webhook_mode_the_console_is_beside_the_webhook_at_its_address(
    telegram: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    listen = f"127.0.0.1:{free_port()}"
    telegram.webhook_listen = listen
    settings = make_settings(
        telegram,
        tmp_path / "feedback.db",
        webhook_url="https://feedback.example-clinic.org:8443/telegram/updates",
        webhook_secret="s3cret-for-the-webhook-0123456789",
        webhook_listen=listen,
    )
    async with webhook_bot(settings, clock):
        admin = telegram.patient(ADMIN_ID)
        await admin.send("/console")
        reply = await admin.next_message()
        async with ClientSession() as session, session.get(f"http://{listen}/console/") as page:
            assert page.status == 200
    assert reply.reply_markup is not None
    [[button]] = reply.reply_markup["inline_keyboard"]
    # No FEEDBACK_PUBLIC_URL: the webhook's origin, port included.
    assert button["web_app"] == {"url": "https://feedback.example-clinic.org:8443/console/"}


async def act(
    settings: Settings, path: str, launch: str, body: object = None, *, raw: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"tma {launch}", "Content-Type": "application/json"}
    data = raw if raw is not None else json.dumps(body or {}).encode()
    async with (
        ClientSession() as session,
        session.post(console_url(settings, f"api/{path}"), data=data, headers=headers) as reply,
    ):
        return reply.status, await reply.json()


async def test_case_actions_answer_each_outcome_and_a_retried_reply_is_sent_once(
    telegram: FakeTelegram, console_settings: Settings, clock: FakeClock
) -> None:
    settings = console_settings.model_copy(update={"admins": frozenset({ADMIN_ID, 778})})
    async with running_bot(settings, clock):
        await unhappy_patient(telegram, 940)
        await alert_when(telegram, lambda text: "Status: completed" in text)
        dana = signed_launch(telegram.token, ADMIN, clock.now())
        lee = signed_launch(telegram.token, {"id": 778, "first_name": "Lee"}, clock.now())
        status, listing, _ = await call(settings, "cases", dana)
        [case] = listing["cases"]
        path = f"cases/{case['id']}"
        assert (await act(settings, f"{path}/claim", dana))[0] == 200
        status, taken = await act(settings, f"{path}/claim", lee)
        assert (status, taken["outcome"]) == (409, "taken")
        assert taken["message"] == EN.case_taken_by.format(name="Dana")
        status, empty = await act(settings, f"{path}/reply", dana, {"text": "  ", "request": 5})
        assert (status, empty["outcome"]) == (409, "empty")
        long = {"text": "x" * 3801, "request": 6}
        assert (await act(settings, f"{path}/reply", dana, long))[1]["outcome"] == "too_long"
        assert (await act(settings, f"{path}/reply", dana, raw=b"not json"))[0] == 400
        words = "Sorry about that, we will call."
        reply = {"text": words, "request": 123456789}
        for _ in range(2):  # a retry of the same reply, after a lost answer
            status, sent = await act(settings, f"{path}/reply", dana, reply)
            assert (status, sent["outcome"]) == (200, "sent")
        # Stored once: one message owed to the patient, one line in the case.
        [staff_line] = [m for m in await case_messages(settings) if m[0] == "to_patient"]
        assert staff_line == ("to_patient", words, "Dana")
        await telegram.wait_for(lambda: any(words in m.text for m in telegram.messages_to(940)))
        assert sum(words in m.text for m in telegram.messages_to(940)) == 1
        assert (await call(settings, "cases/999999", dana))[0] == 404
        assert (await act(settings, f"{path}/resolve", dana, {"note": "done"}))[0] == 200
        status, again = await act(settings, f"{path}/resolve", dana)
        assert (status, again["outcome"]) == (409, "closed")
    # Audited once each, by Dana, the retried reply too; Lee's refused claim not at all.
    entries = await audit_entries(settings, 4)
    assert [(e.entry.actor, e.entry.action) for e in entries] == [
        (str(ADMIN_ID), "cases"),
        (str(ADMIN_ID), "claim"),
        (str(ADMIN_ID), "reply"),
        (str(ADMIN_ID), "resolve"),
    ]


@pytest.mark.usefixtures("console_bot")
async def test_each_look_at_patients_data_in_the_console_is_audited_without_their_words(
    telegram: FakeTelegram, console_settings: Settings, clock: FakeClock
) -> None:
    patient = telegram.patient(960)
    await answer_all(patient, "1", "2", "Still swollen and lumpy")
    assert "Thank you" in (await patient.next_message()).text
    launch = signed_launch(telegram.token, ADMIN, clock.now())
    for path in (
        "me",
        "filters",
        "overview?period=7d",
        "trend?span=12w",
        "comments?q=swollen+lumpy&sentiment=negative&period=30d",
        "breakdowns?period=all",
        "cases",
    ):
        assert (await call(console_settings, path, launch))[0] == 200
    assert (await call(console_settings, "comments?sentiment=angry", launch))[0] == 400
    _, listing, _ = await call(console_settings, "cases", launch)
    [case] = listing["cases"]
    assert (await call(console_settings, f"cases/{case['id']}", launch))[0] == 200
    entries = await audit_entries(console_settings, 7)
    # The page's own wording and the lists to filter by hold no patient's data: not audited.
    assert [(e.entry.actor, e.entry.action, e.entry.detail) for e in entries[:-1]] == [
        (str(ADMIN_ID), "summary", "console, period 7d"),
        (str(ADMIN_ID), "trend", "console, span 12w"),
        (
            str(ADMIN_ID),
            "comments",
            "console, since 2026-10-03, sentiment negative, search words: 2, page 0, 1 shown",
        ),
        (str(ADMIN_ID), "breakdowns", "console, period all"),
        (str(ADMIN_ID), "cases", "console, 1 open, 1 listed"),
        (str(ADMIN_ID), "cases", "console, 1 open, 1 listed"),
    ]
    opened = entries[-1].entry
    assert (opened.action, opened.subject) == (
        "case_viewed",
        f"case {case['id']} {case['patient']}",
    )


@pytest.mark.usefixtures("console_bot")
async def test_comments_come_fifty_a_page_and_search_words_are_taken_literally(
    telegram: FakeTelegram, console_settings: Settings, clock: FakeClock
) -> None:
    for user_id in range(1000, 1052):
        comment = "100% happy" if user_id == 1000 else f"visit number {user_id}"
        patient = telegram.patient(user_id)
        await answer_all(patient, "5", "10", comment)
        assert "Thank you" in (await patient.next_message()).text
        clock.advance(minutes=1)
    launch = signed_launch(telegram.token, ADMIN, clock.now())
    status, first, _ = await call(console_settings, "comments", launch)
    assert (status, first["total"], first["pages"], len(first["comments"])) == (200, 52, 2, 50)
    assert first["comments"][0]["text"] == "visit number 1051"  # newest first
    _, second, _ = await call(console_settings, "comments?page=1", launch)
    assert [c["text"] for c in second["comments"]] == ["visit number 1001", "100% happy"]
    # `%` and `_` are letters to look for, not patterns.
    _, percent, _ = await call(console_settings, "comments?q=%25", launch)
    assert [c["text"] for c in percent["comments"]] == ["100% happy"]
    _, none, _ = await call(console_settings, "comments?q=_", launch)
    assert none["total"] == 0
    _, two_words, _ = await call(console_settings, "comments?q=NUMBER+1049", launch)
    assert [c["text"] for c in two_words["comments"]] == ["visit number 1049"]
    assert (await call(console_settings, "comments?page=-1", launch))[0] == 400
    assert (await call(console_settings, "comments?sentiment=angry", launch))[0] == 400


@pytest.mark.usefixtures("console_bot")
async def test_a_database_failure_is_a_503_in_words_with_one_line_in_the_log(
    telegram: FakeTelegram,
    console_settings: Settings,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def unreachable(*_: object) -> None:
        raise ConnectionRefusedError("connection to server at 10.0.0.5 failed: 'P-SECRET'")

    monkeypatch.setattr(ReportService, "summary", unreachable)
    launch = signed_launch(telegram.token, ADMIN, clock.now())
    with caplog.at_level(logging.DEBUG):
        status, body, _ = await call(console_settings, "overview", launch)
    assert (status, body) == (
        503,
        {"error": "unavailable", "message": EN.console_page["failed"]},
    )
    assert "console call failed (ConnectionRefusedError)" in caplog.text
    assert "P-SECRET" not in caplog.text
    assert "Traceback" not in caplog.text


def test_check_config_names_the_console_address(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path,
        "check-config",
        FEEDBACK_BOT_TOKEN="123456789:AAFakeTokenForTheCheck",
        FEEDBACK_HTTP_LISTEN="127.0.0.1:8081",
        FEEDBACK_PUBLIC_URL=PUBLIC_URL,
    )
    assert result.returncode == 0, result.stderr
    assert f"staff console: {PUBLIC_URL}/console/ (admins open it with /console)" in result.stdout
    without = run_cli(
        tmp_path,
        "check-config",
        FEEDBACK_BOT_TOKEN="123456789:AAFakeTokenForTheCheck",
        FEEDBACK_HTTP_LISTEN="127.0.0.1:8081",
    )
    assert "staff console: no https address for it (set FEEDBACK_PUBLIC_URL)" in without.stdout
