"""Kill the real bot at random while patients answer: what is lost, doubled or left hanging.

Starts `feedback-bot run` against the local fake Bot API, with N patients (default 20)
answering the post-visit survey over and over, each run with its own answers and a comment
that names the run. Meanwhile the bot is killed with SIGKILL at random moments (default
100 times) and started again at once. A patient acts like a person: taps or types the
answer, and if the bot says nothing within a few seconds, sends /start to carry on.

At the end it prints, from the database and the staff chat:

- answers sent (distinct answers the patients meant), acknowledged (the bot went on to the
  next question), stored, lost (acknowledged but not stored) and wrong (stored under
  another question or with another value: a duplicate);
- actions that got no reply and had to be repeated, and patients stuck at the end;
- alerts owed (responses whose stored answers alert staff), delivered (staff saw the latest
  version), not delivered, and duplicated (more than one staff message for one run);
- SQLite's integrity_check.

    python benchmarks/chaos.py [--patients 20] [--kills 100] [--seed 7] [--between 1 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import processes

from bot.domain.alerts import alert_reasons
from bot.domain.models import AlertThresholds
from bot.domain.surveys import load_catalog
from handlers.texts import CATALOGUES
from storage.alerts import SqliteAlertStore
from storage.database import Database
from storage.reports import SqliteReportStore
from tests.fake_telegram import FakeTelegram, Person, SentMessage

STAFF_CHAT = -100_555
REPLY_WAIT = 15.0  # seconds a patient waits for the bot before trying again
REPEAT_NOTE = CATALOGUES["en"].alert_maybe_repeat
THRESHOLDS = AlertThresholds()  # the settings' defaults, as the bot runs here
COMMENTS = ("Lovely staff, thank you", "Rude receptionist and a long wait", "It was fine")


@dataclass
class Run:
    """One pass of a patient through the survey, and what they meant to answer."""

    token: str
    csat: int
    nps: int
    comment: str
    response_id: str | None = None
    """From the survey's buttons, which carry it."""
    sent: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    finished: bool = False


@dataclass
class Tally:
    """What the patients did and saw."""

    runs: list[Run] = field(default_factory=list)
    retries: int = 0
    stuck: int = 0


async def start_bot(telegram: FakeTelegram, db: Path, log: Path) -> asyncio.subprocess.Process:
    """`feedback-bot run` against the fake server, checking for retries every second."""
    return await processes.start_bot(
        telegram, db, log, staff_chat=str(STAFF_CHAT), alert_check_seconds="1"
    )


class Patient:
    """A simulated patient: answers whatever the bot last asked, retries when ignored."""

    def __init__(self, person: Person, rng: random.Random, tally: Tally) -> None:
        self._person = person
        self._rng = rng
        self._tally = tally
        self._run: Run | None = None
        self._seen = 0
        self._runs = 0

    async def _reply(self) -> SentMessage | None:
        """The bot's latest message that asks for something, if one comes within REPLY_WAIT.

        A person reads up the chat: a thanks for an earlier survey that arrives late (after a
        restart) below the question they are on does not hide the question.
        """
        server = self._person.server
        deadline = time.monotonic() + REPLY_WAIT
        while True:
            try:
                await server.wait_for(
                    lambda: len(server.messages_to(self._person.chat_id)) > self._seen,
                    max(deadline - time.monotonic(), 0),
                )
            except TimeoutError:
                return None
            messages = server.messages_to(self._person.chat_id)
            fresh, self._seen = messages[self._seen :], len(messages)
            for message in reversed(fresh):
                if self._asks_something(message):
                    return message

    def _asks_something(self, message: SentMessage) -> bool:
        text, run = message.text, self._run
        if "Nothing is stored until you tap" in text or text.startswith("Which treatment"):
            return True
        if text.startswith("Question "):
            return True
        # A thanks answers this run's comment only if this run sent one.
        return text.startswith("Thank you!") and run is not None and "comment" in run.sent

    def _note_survey(self, message: SentMessage) -> None:
        """Which response the first question belongs to (its buttons carry the id)."""
        run = self._run
        if run is None or not message.text.startswith("Question 1"):
            return
        # Answer buttons carry "a:<response id>:<question>:<value>".
        data = next((d for _, d in message.buttons() if d), "")
        response_id = data.split(":")[1] if data.startswith("a:") else None
        if run.response_id not in {None, response_id} and "comment" in run.sent:
            # A new survey: the thanks for the last one was lost, as a person would guess
            # when /start begins again. That run is over.
            run.finished = True
            self.begin()
            run = self._run
        if run is not None:
            run.response_id = response_id

    async def act(self, message: SentMessage | None) -> None:
        """Do what the bot's last message asks."""
        if message is not None:
            self._note_survey(message)
        run = self._run
        text = None if message is None else message.text
        if text is None:
            self._tally.retries += 1
            seen = self._person.server.messages_to(self._person.chat_id)
            last = seen[-1].text.split("\n")[0][:40] if seen else "nothing"
            print(f"  retry: patient {self._person.chat_id} after {last!r}", flush=True)
            await self._person.send("/start")
        elif "Nothing is stored until you tap" in text:
            await self._person.tap("I agree", wait=False)
        elif text.startswith("Which treatment"):
            await self._person.tap("Dermal filler", wait=False)
        elif run is not None and text.startswith("Question 1 of 3"):
            await self._answer(run, "csat", str(run.csat))
        elif run is not None and text.startswith("Question 2 of 3"):
            self._acknowledge(run, "csat")
            await self._answer(run, "nps", str(run.nps))
        elif run is not None and text.startswith("Question 3 of 3"):
            self._acknowledge(run, "nps")
            run.sent.add("comment")
            await self._person.send(run.comment)
        elif run is not None and text.startswith("Thank you!"):
            run.acknowledged.add("comment")
            run.finished = True
            self._run = None
        else:
            return  # welcome back, the clinic's call-back notice...: wait for more

    @staticmethod
    def _acknowledge(run: Run, question: str) -> None:
        # Only what this run sent: a survey resumed past a question, or the thanks for an
        # earlier survey delivered late (after a restart), acknowledges nothing of this run.
        if question in run.sent:
            run.acknowledged.add(question)

    async def _answer(self, run: Run, question: str, value: str) -> None:
        run.sent.add(question)
        if self._rng.random() < 0.5:
            await self._person.send(value)
        else:
            # Not waiting for the spinner: a person who sees nothing taps on or types.
            await self._person.tap(value, wait=False)

    def begin(self) -> None:
        """Start meaning a new run's answers."""
        token = f"run-{self._person.chat_id}-{self._runs}"
        self._runs += 1
        self._run = Run(
            token=token,
            csat=self._rng.randint(1, 5),
            nps=self._rng.randint(0, 10),
            comment=f"{self._rng.choice(COMMENTS)} ({token})",
        )
        self._tally.runs.append(self._run)

    async def live(self, stop_new_runs: asyncio.Event, deadline: float) -> None:
        """Answer survey after survey until told to stop, then finish the current one."""
        self.begin()
        await self._person.send("/start")
        while time.monotonic() < deadline:
            await self.act(await self._reply())
            if self._run is None:
                if stop_new_runs.is_set():
                    return
                self.begin()
                await self._person.send("/start")
        self._tally.stuck += 1


async def killer(  # noqa: PLR0913 - the server, the files, and how to kill
    telegram: FakeTelegram,
    db: Path,
    log: Path,
    *,
    kills: int,
    rng: random.Random,
    between: tuple[float, float],
) -> asyncio.subprocess.Process:
    """Kill the bot `kills` times at random, starting it again each time; the last bot."""
    process = await start_bot(telegram, db, log)
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(*between))
        process.kill()
        await process.wait()
        process = await start_bot(telegram, db, log)
    return process


async def main() -> None:
    """Run the chaos and print the tallies."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--between",
        type=float,
        nargs=2,
        default=(1.0, 3.0),
        metavar=("LOW", "HIGH"),
        help="seconds between kills, drawn uniformly (default 1 3)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    # The fake server logs every connection the killed bot drops; that is the point here.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    os.environ["PTB_TIMEDELTA"] = "true"
    folder = Path(tempfile.mkdtemp(prefix="chaos-"))
    db, log = folder / "feedback.db", folder / "bot.log"
    telegram = FakeTelegram()
    await telegram.start()
    tally = Tally()
    stop_new_runs = asyncio.Event()
    started = time.monotonic()
    patients = [
        Patient(telegram.patient(5000 + n), random.Random(rng.random()), tally)
        for n in range(args.patients)
    ]
    chaos = asyncio.create_task(
        killer(telegram, db, log, kills=args.kills, rng=rng, between=args.between)
    )
    lives = [asyncio.create_task(p.live(stop_new_runs, started + 60 * 60)) for p in patients]
    bot = await chaos
    stop_new_runs.set()
    _, pending = await asyncio.wait(lives, timeout=120)
    for task in pending:
        task.cancel()
    tally.stuck += len(pending)
    await drained(db)  # the last bot delivers the alerts still owed
    bot.send_signal(signal.SIGTERM)
    await bot.wait()
    staff = [m.text for m in telegram.messages_to(STAFF_CHAT)]
    await telegram.stop()
    await report(tally, db, staff_texts=staff, elapsed=time.monotonic() - started)
    print(f"(files in {folder})")


async def drained(db: Path, patience: float = 120) -> None:
    """Wait until no alert is owed (or `patience` seconds have passed)."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        database = await Database.open(db)
        try:
            owed = await SqliteAlertStore(database).pending_alerts(None, limit=1)
        finally:
            await database.close()
        if not owed:
            return
        await asyncio.sleep(1)


async def report(tally: Tally, db: Path, *, staff_texts: list[str], elapsed: float) -> None:
    """Compare what the patients meant with the database and the staff chat."""
    database = await Database.open(db)
    try:
        responses = [r async for r in SqliteReportStore(database).iter_responses(None)]
        undelivered = len(await SqliteAlertStore(database).pending_alerts(None))
        integrity = await database.integrity_check()
    finally:
        await database.close()
    by_id = {response.id: response for response in responses}
    sent = acknowledged = stored = lost = wrong = 0
    # Owed: every response whose stored answers alert staff (the bot's own rule).
    roles = {survey.id: survey.roles for survey in load_catalog(None).surveys}
    owed = sum(bool(alert_reasons(r.answers, THRESHOLDS, roles[r.survey_id])) for r in responses)
    duplicated = 0
    for run in tally.runs:
        meant = {"csat": run.csat, "nps": run.nps, "comment": run.comment}
        response = by_id.get(run.response_id or "")
        values = response.values if response else {}
        sent += len(run.sent)
        acknowledged += len(run.acknowledged)
        for question, value in meant.items():
            if question in values:
                stored += 1
                if values[question] != value:
                    wrong += 1
                    stored_value = values[question]
                    print(f"  wrong: {run.token} {question} meant {value!r}, got {stored_value!r}")
            elif question in run.acknowledged:
                lost += 1
                print(f"  lost: {run.token} {question} (acknowledged, not stored)")
        copies = [text for text in staff_texts if f"({run.token})" in text]
        duplicated += max(len(copies) - 1, 0)
        if len(copies) > 1:
            marked = sum(REPEAT_NOTE in text for text in copies)
            print(f"  {len(copies)} alerts for {run.token}, {marked} saying it may repeat")
    print(f"runs {len(tally.runs)} in {elapsed:.0f} s; kills as asked")
    print(
        f"answers: sent {sent}, acknowledged {acknowledged}, stored {stored}, "
        f"lost {lost}, wrong or duplicated {wrong}"
    )
    print(
        f"patient actions unanswered and repeated: {tally.retries}; "
        f"stuck at the end: {tally.stuck}"
    )
    print(
        f"alerts: owed {owed}, delivered {owed - undelivered}, not delivered {undelivered}, "
        f"duplicated {duplicated}"
    )
    print(f"integrity_check: {integrity}")


if __name__ == "__main__":
    asyncio.run(main())
