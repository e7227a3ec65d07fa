"""Running the real Application against the fake Bot API server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import build_application, polling, webhook, webhook_config
from bot.domain.surveys import SurveyCatalog
from bot.pacing import Pacer
from bot.settings import Settings
from handlers.registry import FeedbackApplication
from tests.fake_telegram import FakeTelegram

ADMIN_ID = 777
STAFF_CHAT = -100_555


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 2, 10, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def make_settings(server: FakeTelegram, db: Path | str, **overrides: Any) -> Settings:
    """Settings for a bot talking to `server`; the environment and .env are ignored."""
    values: dict[str, Any] = {
        "bot_token": server.token,
        "api_url": server.api_url,
        "db": db,
        "admins": frozenset({ADMIN_ID}),
        "staff_chat": STAFF_CHAT,
        "clinic_name": "Glow Aesthetics",
        # Retries of staff alerts are due by the fake clock; look for them often.
        "alert_check_seconds": 0.05,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def no_wait(_: float) -> None:
    """A sleep that returns at once (still letting other tasks run)."""
    await asyncio.sleep(0)


@asynccontextmanager
async def running_bot(
    settings: Settings, clock: FakeClock, surveys: SurveyCatalog | None = None
) -> AsyncIterator[FeedbackApplication]:
    """The bot polling the fake server, started and stopped as `run_polling` would.

    Its follow-up pacer does not sleep: pacing is tested on its own, in virtual time.
    """
    pacer = Pacer(settings.send_rate, sleep=no_wait)
    application = build_application(settings, clock=clock, surveys=surveys, pacer=pacer)
    # A short long-poll keeps teardown quick: stopping waits for the poll in flight.
    async with polling(application, poll_timeout=timedelta(seconds=0.2), clock=clock):
        yield application


@asynccontextmanager
async def webhook_bot(
    settings: Settings, clock: FakeClock, surveys: SurveyCatalog | None = None
) -> AsyncIterator[FeedbackApplication]:
    """The bot in webhook mode, as `feedback-bot run` serves it with a webhook URL set."""
    config = webhook_config(settings)
    if config is None:
        raise AssertionError("set webhook_url and webhook_secret for a webhook bot")
    pacer = Pacer(settings.send_rate, sleep=no_wait)
    application = build_application(settings, clock=clock, surveys=surveys, pacer=pacer)
    async with webhook(application, config, clock=clock):
        yield application


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
