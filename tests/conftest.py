from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.fake_telegram import FakeTelegram
from bot.settings import Settings

# As the `feedback-bot` command does: PTB 22 would otherwise warn (an error here) on 429s.
os.environ.setdefault("PTB_TIMEDELTA", "true")
from handlers.registry import FeedbackApplication
from tests.harness import FakeClock, make_settings, running_bot


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(telegram: FakeTelegram, tmp_path: Path) -> Settings:
    return make_settings(telegram, tmp_path / "feedback.db")


@pytest.fixture
async def bot(settings: Settings, clock: FakeClock) -> AsyncIterator[FeedbackApplication]:
    async with running_bot(settings, clock) as application:
        yield application
