"""Three `feedback-bot run` workers behind a load balancer, sharing one PostgreSQL database."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.models import ResponseStatus
from tests.fake_telegram import FakeTelegram, Person
from tests.harness import FakeClock, free_port
from tests.storage_view import stored_responses
from tests.test_followup_batch import schedule_followups
from tests.test_process import bot_environment, feedback_bot

pytestmark = pytest.mark.process

WORKERS = 3
PATIENTS = 50
FOLLOWUPS = 1000
TELEGRAM_LIMIT = 30  # messages a second, for the bot as a whole
SECRET = "the-load-balancers-secret-0123456789"


@asynccontextmanager
async def worker(
    telegram: FakeTelegram, tmp_path: Path, database: str, listen: str, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    environment = bot_environment(telegram, tmp_path / "unused.db") | {
        "FEEDBACK_DB": database,
        "FEEDBACK_WEBHOOK_URL": "https://feedback.example-clinic.org/telegram",
        "FEEDBACK_WEBHOOK_SECRET": SECRET,
        "FEEDBACK_WEBHOOK_LISTEN": listen,
        "FEEDBACK_SEND_HOURS": "00:00-24:00",
        "FEEDBACK_FOLLOWUP_CHECK_SECONDS": "1",
        "FEEDBACK_ALERT_CHECK_SECONDS": "1",
    }
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            feedback_bot(),
            "run",
            env=environment,
            cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=output,
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
            await process.wait()


async def survey(patient: Person, csat: int, nps: int, comment: str) -> None:
    """A patient's whole survey, each step waiting for the bot's reply as a person would."""
    await patient.send("/start")
    await _until(patient, "Nothing is stored until you tap")
    await patient.tap("I agree", wait=False)
    await _until(patient, "Which treatment")
    await patient.tap("Dermal filler", wait=False)
    await _until(patient, "Question 1 of 3")
    await patient.tap(str(csat), wait=False)
    await _until(patient, "Question 2 of 3")
    await patient.tap(str(nps), wait=False)
    await _until(patient, "Question 3 of 3")
    await patient.send(comment)
    await _until(patient, "Thank you")


async def _until(patient: Person, words: str) -> None:
    # A worker killed after sending a message but before recording it sends it again.
    while words not in (await patient.next_message(timeout=60)).text:
        pass


def busiest_second(times: list[float]) -> int:
    """The most sends inside any one second."""
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - 1:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_three_workers_lose_no_answer_when_one_is_killed_and_send_each_follow_up_once(
    tmp_path: Path, postgresql: str
) -> None:
    telegram = FakeTelegram()
    await telegram.start()
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(WORKERS)]
    telegram.webhook_workers = tuple(addresses)
    log = tmp_path / "workers.log"
    try:
        async with AsyncExitStack() as stack:
            # The first worker up is the one that sends (and sets the webhook): the one killed
            # below, so that another must take its place.
            first = await stack.enter_async_context(
                worker(telegram, tmp_path, postgresql, addresses[0], log)
            )
            await telegram.wait_for(lambda: telegram.webhook is not None, timeout=60)
            processes = [first] + [
                await stack.enter_async_context(
                    worker(telegram, tmp_path, postgresql, address, log)
                )
                for address in addresses[1:]
            ]
            patients = [telegram.patient(20_000 + n) for n in range(PATIENTS)]
            answers = {
                p.chat_id: (1 + n % 5, n % 11, f"Comment {n}") for n, p in enumerate(patients)
            }

            async def kill_one_mid_survey() -> None:
                await telegram.wait_for(
                    lambda: (
                        sum(
                            any(
                                m.text.startswith("Question 2")
                                for m in telegram.messages_to(p.chat_id)
                            )
                            for p in patients
                        )
                        >= PATIENTS // 3
                    ),
                    timeout=120,
                )
                processes[0].send_signal(signal.SIGKILL)

            killer = asyncio.create_task(kill_one_mid_survey())
            await asyncio.wait_for(
                asyncio.gather(*(survey(p, *answers[p.chat_id]) for p in patients)), 300
            )
            await killer
            assert await processes[0].wait() == -signal.SIGKILL

            stored = await stored_responses(postgresql)
            assert len(stored) == PATIENTS  # one response each: no update made a second
            by_patient = {r.patient_pseudonym: r for r in stored}
            assert len(by_patient) == PATIENTS
            assert all(r.status is ResponseStatus.COMPLETED for r in stored)
            assert sorted(
                (r.values["csat"], r.values["nps"], r.values["comment"]) for r in stored
            ) == sorted(answers.values())

            # A morning's follow-ups, due now, with two workers left.
            sent_before = len(telegram.calls)
            await schedule_followups(
                postgresql, FakeClock(datetime.now(UTC) - timedelta(days=14, minutes=1))
            )
            recipients = {10_000 + n for n in range(FOLLOWUPS)}

            def followups_sent() -> Counter[int]:
                return Counter(
                    c.params["chat_id"]
                    for c in telegram.calls[sent_before:]
                    if c.method == "sendMessage"
                    and c.status == 200
                    and c.params["chat_id"] in recipients
                )

            await telegram.wait_for(lambda: len(followups_sent()) == FOLLOWUPS, timeout=240)
            await asyncio.sleep(3)  # anything sent twice would come now
            sent = followups_sent()
            assert set(sent) == recipients
            assert set(sent.values()) == {1}
            sends = [
                c.at
                for c in telegram.calls[sent_before:]
                if c.method == "sendMessage" and c.status == 200
            ]
            assert busiest_second(sends) <= TELEGRAM_LIMIT
    finally:
        await telegram.stop()
    output = log.read_text()
    assert output.count("Application started") >= WORKERS
    assert "this worker now sends" in output  # another took over from the killed one
    assert "Comment 1" not in output
