"""Webhook mode: Telegram POSTs updates; only with the secret; stored before the 200."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.settings import Settings
from tests.fake_telegram import FakeTelegram
from tests.harness import FakeClock, free_port, make_settings, webhook_bot
from tests.storage_view import handled_everything, stored_responses
from tests.test_cli import run_cli, run_cli_async
from tests.test_patient_flow import agree

SECRET = "s3cret-for-the-webhook-0123456789"


@pytest.fixture
def hook_settings(telegram: FakeTelegram, tmp_path: Path) -> Settings:
    listen = f"127.0.0.1:{free_port()}"
    telegram.webhook_listen = listen
    return make_settings(
        telegram,
        tmp_path / "feedback.db",
        webhook_url="https://feedback.example-clinic.org/telegram/updates",
        webhook_secret=SECRET,
        webhook_listen=listen,
    )


async def test_in_webhook_mode_a_patient_answers_the_survey(
    telegram: FakeTelegram, hook_settings: Settings, clock: FakeClock
) -> None:
    async with webhook_bot(hook_settings, clock):
        assert telegram.webhook is not None
        assert telegram.webhook["url"] == "https://feedback.example-clinic.org/telegram/updates"
        assert telegram.webhook["secret_token"] == SECRET
        assert set(telegram.webhook["allowed_updates"]) == {
            "message",
            "edited_message",
            "callback_query",
        }
        patient = telegram.patient(9100)
        await agree(patient)
        assert (await patient.next_message()).text.startswith("Question 1 of 3")
        await patient.tap("4")
        assert (await patient.next_message()).text.startswith("Question 2 of 3")
    [response] = await stored_responses(hook_settings.db)
    assert response.values == {"csat": 4}
    assert set(telegram.webhook_statuses) == {200}


@pytest.mark.parametrize("secret", [None, "wrong-secret-0123456789"])
async def test_a_request_without_the_secret_is_refused_and_never_handled(
    telegram: FakeTelegram, hook_settings: Settings, clock: FakeClock, secret: str | None
) -> None:
    patient = telegram.patient(9101)
    forged = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": patient.chat,
            "from": patient.user,
            "text": "/start",
        },
    }
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with webhook_bot(hook_settings, clock):
        url = telegram.webhook_target(hook_settings.webhook_listen)
        async with (
            ClientSession() as session,
            session.post(url, json=forged, headers=headers) as response,
        ):
            assert response.status == 403
        await asyncio.sleep(0.3)
    assert telegram.messages_to(9101) == []


async def test_health_check_says_whether_the_database_answers(
    telegram: FakeTelegram, hook_settings: Settings, clock: FakeClock
) -> None:
    health = f"http://{hook_settings.webhook_listen}/healthz"
    async with webhook_bot(hook_settings, clock) as application, ClientSession() as session:
        async with session.get(health) as response:
            assert (response.status, await response.json()) == (200, {"status": "ok"})
        await application.bot_data["database"].close()  # as if the disk went away
        async with session.get(health) as response:
            assert response.status == 503
    del telegram


async def test_an_update_that_cannot_be_stored_gets_no_200_and_is_handled_on_the_retry(
    telegram: FakeTelegram, hook_settings: Settings, clock: FakeClock
) -> None:
    async with webhook_bot(hook_settings, clock):
        patient = telegram.patient(9102)
        await agree(patient)
        assert (await patient.next_message()).text.startswith("Question 1 of 3")
        await handled_everything(hook_settings.db)  # the lock below is for the next update
        blocker = sqlite3.connect(hook_settings.db, isolation_level=None, check_same_thread=False)
        await asyncio.to_thread(blocker.execute, "BEGIN EXCLUSIVE")
        try:
            tap = await patient.send("5")
            await telegram.wait_for(lambda: 500 in telegram.webhook_statuses, timeout=20)
            assert not telegram.confirmed(tap)  # Telegram keeps it and sends it again
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert (await patient.next_message(timeout=20)).text.startswith("Question 2 of 3")
    [response] = await stored_responses(hook_settings.db)
    assert response.values == {"csat": 5}


async def test_set_webhook_tells_telegram_the_address_once_for_every_worker(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    code, out, err = await run_cli_async(
        tmp_path,
        "set-webhook",
        FEEDBACK_BOT_TOKEN=telegram.token,
        FEEDBACK_API_URL=telegram.api_url,
        FEEDBACK_WEBHOOK_URL="https://feedback.example-clinic.org/telegram/updates",
        FEEDBACK_WEBHOOK_SECRET=SECRET,
    )
    assert code == 0, err
    assert (
        out
        == "Telegram now delivers updates to https://feedback.example-clinic.org/telegram/updates\n"
    )
    assert telegram.webhook is not None
    assert telegram.webhook["url"] == "https://feedback.example-clinic.org/telegram/updates"
    assert telegram.webhook["secret_token"] == SECRET
    assert telegram.token not in out + err


def test_set_webhook_without_an_address_says_which_settings_to_give(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "set-webhook", FEEDBACK_BOT_TOKEN="123456:placeholder-token")
    assert result.returncode != 0
    assert "FEEDBACK_WEBHOOK_URL and FEEDBACK_WEBHOOK_SECRET must both be set" in result.stderr
    assert "Traceback" not in result.stderr
