"""Every command, given bad input or a closed pipe, ends with a clear line, never a traceback."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from bot.domain.surveys import load_catalog
from bot.services.staff import ReportService
from storage.database import Database, to_db_time
from storage.reports import SqliteReportStore
from tests.harness import FakeClock
from tests.test_cli import NOW, made_by_the_bot, populate, run_cli
from tests.test_process import feedback_bot

USERNAME = {"FEEDBACK_BOT_USERNAME": "glow_feedback_bot"}


@pytest.fixture
def database(tmp_path: Path) -> Path:
    asyncio.run(populate(tmp_path / "feedback.db"))
    return tmp_path / "feedback.db"


def invitations(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT count(*) FROM visits").fetchone()[0])


BAD_INPUT = [
    pytest.param(
        ["export", "--format", "csv", "--out", "missing/x.csv"],
        {},
        1,
        "feedback-bot: cannot use missing/x.csv: No such file or directory",
        id="export to a missing folder",
    ),
    pytest.param(
        ["trend", "--out", "missing/t.png"],
        {},
        1,
        "feedback-bot: cannot use missing/t.png: No such file or directory",
        id="trend to a missing folder",
    ),
    pytest.param(
        ["invite", "--treatment", "botx", "--provider", "Dr Li"],
        USERNAME,
        1,
        "feedback-bot: unknown treatment 'botx' (did you mean Botox",
        id="a misspelt treatment",
    ),
    pytest.param(
        ["invite", "--treatment", "filler", "--provider", "Dr Li", "--qr", "x.jpg"],
        USERNAME,
        2,
        "'x.jpg': a QR code is written as .png or .svg",
        id="a QR file it cannot write",
    ),
    pytest.param(
        ["invite", "--treatment", "filler", "--provider", "Dr Li"],
        {"FEEDBACK_BOT_TOKEN": "123:abc", "FEEDBACK_API_URL": "http://127.0.0.1:9/bot"},
        1,
        "feedback-bot: cannot ask Telegram for the bot's @username (connection refused); "
        "set FEEDBACK_BOT_USERNAME, or check the network",
        id="invite with neither a username nor Telegram",
    ),
    pytest.param(
        ["invite", "--csv", "missing.csv"],
        USERNAME,
        1,
        "feedback-bot: cannot read missing.csv: No such file or directory",
        id="a booking file that is not there",
    ),
    pytest.param(
        ["followups", "--limit", "-1"],
        {},
        2,
        "'-1' is not a whole number of 1 or more",
        id="a negative limit",
    ),
    pytest.param(
        ["export", "--format", "csv", "--since", "yesterday"],
        {},
        2,
        "'yesterday' is not a date",
        id="a date that is not one",
    ),
    pytest.param(
        ["sentiment", "--file", "missing.txt"],
        {},
        1,
        "--file: cannot read missing.txt: No such file or directory",
        id="texts to score that are not there",
    ),
    pytest.param(
        ["backup", "/proc/feedback-copy.db"],
        {},
        1,
        "feedback-bot: cannot use",
        id="a backup where nothing may be written",
    ),
    pytest.param(
        ["backup", "feedback.db/copy.db"],
        {},
        1,
        "feedback-bot: feedback.db is a file, not a folder; back up into a folder",
        id="a backup into a path through a file",
    ),
    pytest.param(
        ["demo", "--survey", "nope"],
        {},
        1,
        "--survey: no survey 'nope'; the file has post_visit, results_check, return_check",
        id="a survey the demo does not have",
    ),
    pytest.param(
        ["summary", "--period", "1y"],
        {},
        2,
        "invalid choice: '1y'",
        id="a period there is not",
    ),
]


@pytest.mark.usefixtures("database")
@pytest.mark.parametrize(("args", "env", "status", "says"), BAD_INPUT)
def test_bad_input_ends_with_a_clear_line_and_no_traceback(
    tmp_path: Path, args: list[str], env: dict[str, str], status: int, says: str
) -> None:
    result = run_cli(tmp_path, *args, **env)
    assert result.returncode == status
    assert says in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "configuration problem" not in result.stderr  # bad input is not configuration
    if status == 1:
        assert len(result.stderr.strip().splitlines()) == 1
    assert invitations(tmp_path / "feedback.db") == 0  # nothing was created on the way


@pytest.mark.parametrize(
    "command",
    [
        ["summary"],
        ["export", "--format", "jsonl"],
        ["followups"],
        ["visits"],
        ["trend", "--out", "t.png"],
    ],
)
def test_a_file_that_is_not_a_database_is_named_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "feedback.db").write_text("these are my notes, not a database\n" * 200)
    result = run_cli(tmp_path, *command)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"feedback-bot: cannot open the database {tmp_path / 'feedback.db'}")
    assert line.endswith("; check FEEDBACK_DB")


async def many_responses(db: Path, count: int) -> None:
    database = await Database.open(db)
    await database.close()
    with sqlite3.connect(db) as connection:
        connection.execute(
            "INSERT INTO patients (id, external_id, pseudonym, consented_at) VALUES (1, 1, ?, ?)",
            ("P-AAAAAAAA", to_db_time(NOW)),
        )
        connection.executemany(
            "INSERT INTO responses (id, patient_id, survey_id, status, started_at)"
            " VALUES (?, 1, 'post_visit', 'abandoned', ?)",
            ((f"r{n:05d}", to_db_time(NOW)) for n in range(count)),
        )


def test_an_export_cut_short_by_head_ends_quietly_as_cat_does(tmp_path: Path) -> None:
    asyncio.run(many_responses(tmp_path / "feedback.db", 5000))  # more than a pipe holds
    result = subprocess.run(
        ["bash", "-c", f"set -o pipefail; '{feedback_bot()}' export --format jsonl | head -n 1"],
        env={"PATH": "/usr/bin:/bin", "FEEDBACK_DB": str(tmp_path / "feedback.db")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.count("\n") == 1
    assert result.returncode == 141  # as `cat` under pipefail: the output was cut short
    assert result.stderr == ""


class _ReaderGoneAfterOneLine(io.StringIO):
    def write(self, text: str) -> int:
        if self.tell():
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


def test_an_export_cut_short_frees_the_database_before_it_returns(tmp_path: Path) -> None:
    """Its query's connection is closed then, not later by the garbage collector.

    Later, it raced the command's own exit (`| head`) and printed a traceback to the
    operator when it lost, once in CI; a reader still open keeps the write-ahead log too.
    """
    db = tmp_path / "feedback.db"
    asyncio.run(many_responses(db, 5000))

    async def export_cut_short() -> int:
        database = await Database.open(db)
        try:
            reports = ReportService(
                SqliteReportStore(database), FakeClock(), load_catalog().score_questions()
            )
            with pytest.raises(BrokenPipeError):
                await reports.write_jsonl(_ReaderGoneAfterOneLine())
            # No await in between: nothing else may run and close the query meanwhile.
            with sqlite3.connect(db) as other:
                busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return int(busy)
        finally:
            await database.close()

    assert asyncio.run(export_cut_short()) == 0  # 1: a reader still held the database


def test_sentiment_read_by_head_ends_as_quietly_as_cat(tmp_path: Path) -> None:
    texts = tmp_path / "big.txt"
    texts.write_text("Lovely staff, but my lips are still lumpy\n" * 3000, "utf-8")
    bot = f"'{feedback_bot()}' sentiment --file '{texts}'"
    results = {
        command: subprocess.run(
            ["bash", "-c", f"set -o pipefail; {command} | head -n 1"],
            env={"PATH": "/usr/bin:/bin"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for command in (bot, f"cat '{texts}'")
    }
    ours, cat = results[bot], results[f"cat '{texts}'"]
    assert cat.returncode == 141  # the reference: the pipe closed, nothing said
    assert json.loads(ours.stdout)["text"] == "Lovely staff, but my lips are still lumpy"
    assert (ours.returncode, ours.stderr) == (cat.returncode, cat.stderr) == (141, "")


def test_a_booking_file_from_excel_semicolons_and_windows_1252_is_read(tmp_path: Path) -> None:
    visits = tmp_path / "visits.csv"
    visits.write_bytes(
        "Treatment;Provider;Location;Notes\r\nJuvéderm;Dra. Núñez;Centro;café\r\n"
        "Botox;Dr Li;Centro;\r\n".encode("cp1252")
    )
    made_by_the_bot(tmp_path / "feedback.db")
    result = run_cli(tmp_path, "invite", "--csv", str(visits), **USERNAME)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    # The links come back as the file came: semicolons, for Excel where a comma is decimal.
    assert lines[0] == "Treatment;Provider;Location;Notes;link;expires_at;qr_file"
    assert lines[1].startswith("Juvéderm;Dra. Núñez;Centro;café;https://t.me/glow_feedback_bot")
    assert invitations(tmp_path / "feedback.db") == 2
    tabbed = tmp_path / "tabbed.csv"
    tabbed.write_text("\ufefftreatment\tprovider\nfiller\tDr Li\n", "utf-8")
    result = run_cli(tmp_path, "invite", "--csv", str(tabbed), **USERNAME)
    assert result.returncode == 0, result.stderr
