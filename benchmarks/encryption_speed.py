"""What encryption at rest costs: survey steps a second and `/summary`, plain and encrypted.

Survey steps: `feedback-bot run` against the local fake Bot API (calls answered at once,
so the bot's own work, the database's included, is what is timed), `--patients` patients
(default 100) answering the default survey together, on a plain SQLite file and on one
encrypted with SQLCipher (`FEEDBACK_DB_KEY_FILE`), alternately `--rounds` times (default
3) so that the machine's mood is shared; the median of the rounds is printed side by side.

`/summary`: a database seeded with `--answers` answers (default 200,000), copied, and the
copy encrypted with `encrypt-db`'s code; each period's summary is timed on both (median of
`--repeat`, default 5), from the daily totals as the bot does, and from the rows.

    python benchmarks/encryption_speed.py [--patients 100] [--rounds 3] [--answers 200000]

Target: encrypted within 15 % of plain. Prints figures; asserts only that both agree.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import processes
from summary_speed import SCORES, create_schema, seed, time_summary
from survey_load import FIRST_PATIENT, walk

from bot.domain.periods import Period
from bot.keyfile import new_key_file
from storage.database import Database, encrypt_in_place
from storage.reports import SqliteReportStore
from tests.fake_telegram import FakeTelegram


async def steps_a_second(workdir: Path, patients: int, key_file: Path | None) -> float:
    """Survey steps a second for `patients` answering at once, on a new database."""
    telegram = FakeTelegram()
    await telegram.start()
    name = "encrypted" if key_file else "plain"
    db = workdir / f"{name}-{time.monotonic_ns()}.db"
    settings = {} if key_file is None else {"db_key_file": str(key_file)}
    process = await processes.start_bot(telegram, db, workdir / f"{name}.log", **settings)
    try:
        await walk(telegram.patient(FIRST_PATIENT - 1), [])  # started and warm
        latencies: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(
            *(walk(telegram.patient(FIRST_PATIENT + n), latencies) for n in range(patients))
        )
        return len(latencies) / (time.perf_counter() - started)
    finally:
        await processes.stop(process)
        await telegram.stop()


async def summaries(path: Path, key: str | None, repeat: int) -> dict[str, tuple[float, float]]:
    """Each period's summary: median ms from the daily totals, and from the rows."""
    database = await Database.open(path, key=key)
    store = SqliteReportStore(database)
    figures = {}
    try:
        await store.prepare(SCORES)
        for period in Period:
            timed = await time_summary(store, period, repeat)
            figures[period.value] = (
                statistics.median(timed.from_totals),
                statistics.median(timed.from_rows),
            )
    finally:
        await database.close()
    return figures


def _slower(plain: float, encrypted: float, *, rate: bool = False) -> str:
    """How much slower encrypted is: for a rate (higher is faster) or a time."""
    cost = plain / encrypted - 1 if rate else encrypted / plain - 1
    return f"{cost * 100:+.0f} %"


async def main() -> None:
    """Time both, side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--answers", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["PTB_TIMEDELTA"] = "true"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        key_file = workdir / "db.key"
        key = new_key_file(key_file)
        plain_rates, encrypted_rates = [], []
        for _ in range(args.rounds):
            plain_rates.append(await steps_a_second(workdir, args.patients, None))
            encrypted_rates.append(await steps_a_second(workdir, args.patients, key_file))
        plain, encrypted = statistics.median(plain_rates), statistics.median(encrypted_rates)
        print(f"survey steps a second, {args.patients} patients at once (median of rounds):")
        cost = _slower(plain, encrypted, rate=True)
        print(f"  plain {plain:.0f}, encrypted {encrypted:.0f}: {cost} slower")

        path = workdir / "summary.db"
        await create_schema(path)
        seed(path, args.answers)
        encrypted_path = workdir / "summary-encrypted.db"
        shutil.copy(path, encrypted_path)
        encrypt_in_place(encrypted_path, key)
        print(f"/summary on {args.answers:,} answers, median ms (from totals / from rows):")
        bare = await summaries(path, None, args.repeat)
        locked = await summaries(encrypted_path, key, args.repeat)
        for period, (totals, rows) in bare.items():
            secret_totals, secret_rows = locked[period]
            print(
                f"  {period:>4}: plain {totals:6.1f} / {rows:7.1f}, encrypted "
                f"{secret_totals:6.1f} / {secret_rows:7.1f} "
                f"({_slower(totals, secret_totals)} / {_slower(rows, secret_rows)} slower)"
            )


if __name__ == "__main__":
    asyncio.run(main())
