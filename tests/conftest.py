from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.fake_telegram import FakeTelegram

# As the `feedback-bot` command does: PTB 22 would otherwise warn (an error here) on 429s.
os.environ.setdefault("PTB_TIMEDELTA", "true")
from handlers.registry import FeedbackApplication
from tests.databases import drop, drop_template, fresh_postgresql
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Where the bot under test keeps its data: each test runs on both backends."""
    if request.param == "sqlite":
        yield tmp_path / "feedback.db"
        return
    address = fresh_postgresql()
    yield address
    drop(address)


@pytest.fixture
def postgresql() -> Iterator[str]:
    """A new, empty, migrated PostgreSQL database (for tests about PostgreSQL alone)."""
    address = fresh_postgresql()
    yield address
    drop(address)


def pytest_sessionfinish() -> None:
    drop_template()


@pytest.fixture
def settings(telegram: FakeTelegram, database_location: Path | str) -> Settings:
    return make_settings(telegram, database_location)


@pytest.fixture
async def bot(settings: Settings, clock: FakeClock) -> AsyncIterator[FeedbackApplication]:
    async with running_bot(settings, clock) as application:
        yield application
