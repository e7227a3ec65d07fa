"""A morning batch of 1,000 follow-ups against a Telegram that pushes back with 429s."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from telegram import Bot

from bot.domain.models import Answer, AnswerCommit, FollowupStatus, ScheduledFollowup
from bot.domain.schedule import FollowupPolicy, SendHours
from bot.domain.surveys import load_catalog
from bot.pacing import Pacer
from bot.services.followups import FollowupService
from handlers.followups import TelegramFollowupSender
from storage.database import Database
from storage.followups import SqliteFollowupStore
from storage.responses import SqliteResponseStore
from tests.fake_telegram import FakeTelegram
from tests.harness import FakeClock

PATIENTS = 1000
ALLOWED_PER_SECOND = 30


class VirtualTime:
    """Seconds that pass only when someone sleeps: pacing without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


async def schedule_followups(db: Path | str, clock: FakeClock) -> None:
    """1,000 patients whose visit survey completed 14 days ago, each with one follow-up."""
    database = await Database.open(db)
    store = SqliteResponseStore(database)
    try:
        for number in range(PATIENTS):
            patient = await store.add_patient(10_000 + number, clock.now())
            response = await store.start_response(patient.id, "post_visit", clock.now())
            due = clock.now() + timedelta(days=14)
            await store.commit_answer(
                AnswerCommit(
                    response.id,
                    Answer("csat", 5, clock.now()),
                    completes=True,
                    alert_reasons=(),
                    dedup_key=None,
                    followups=(ScheduledFollowup("results_check", due, due + timedelta(days=14)),),
                )
            )
    finally:
        await database.close()


async def test_a_thousand_follow_ups_all_delivered_once_and_never_inside_a_retry_window(
    tmp_path: Path, clock: FakeClock
) -> None:
    virtual = VirtualTime()
    telegram = FakeTelegram(
        time_source=virtual.monotonic,
        max_sends_per_second=ALLOWED_PER_SECOND,
        flood_every=97,  # Telegram also says 429 now and then, whatever our pace
        flood_retry_after=3,
    )
    await telegram.start()
    db = tmp_path / "feedback.db"
    await schedule_followups(db, clock)
    clock.advance(days=14)
    catalog = load_catalog()
    database = await Database.open(db)
    try:
        async with Bot(telegram.token, base_url=telegram.api_url) as bot:
            service = FollowupService(
                SqliteFollowupStore(database),
                SqliteResponseStore(database),
                TelegramFollowupSender(
                    bot,
                    catalog,
                    Pacer(25, monotonic=virtual.monotonic, sleep=virtual.sleep),
                    "Glow Aesthetics",
                ),
                catalog,
                clock,
                policy=FollowupPolicy(SendHours.parse("00:00-24:00", "UTC"), batch=2 * PATIENTS),
            )
            report = await service.dispatch()
            again = await service.dispatch()
        counts = await SqliteFollowupStore(database).counts()
    finally:
        await database.close()
        await telegram.stop()

    assert report.sent == PATIENTS
    assert again.sent == 0
    assert counts == {FollowupStatus.SENT: PATIENTS}
    sends = [c for c in telegram.calls if c.method == "sendMessage"]
    delivered = [c for c in sends if c.status == 200]
    refused = [c for c in sends if c.status == 429]
    # Every patient got exactly one message.
    assert sorted(c.params["chat_id"] for c in delivered) == [10_000 + n for n in range(PATIENTS)]
    # Telegram pushed back (every 97th send), and every refused send was tried again...
    assert len(refused) == len(telegram.retry_windows) >= PATIENTS // 97
    # ...but never inside a window Telegram had asked us to wait out.
    for call in delivered:
        assert not any(start <= call.at < end for start, end in telegram.retry_windows)
    # Our own pacing never tripped the 30-a-second limit: all 429s were the unlucky ones.
    assert all(n % 97 == 0 for n in range(1, len(sends) + 1) if sends[n - 1].status == 429)
    for index, call in enumerate(delivered):
        window = [c for c in delivered[index:] if c.at < call.at + 1]
        assert len(window) <= ALLOWED_PER_SECOND
