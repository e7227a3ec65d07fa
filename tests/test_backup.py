"""`feedback-bot backup` copies the live database safely while the bot writes to it."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import threading
import time
from pathlib import Path

from storage.database import Database, to_db_time
from tests.test_cli import NOW, run_cli


def keep_writing(db: Path, stop: threading.Event, written: list[int]) -> None:
    """Another connection adding a response every millisecond or so, as a busy bot would."""
    with sqlite3.connect(db, timeout=10) as connection:
        connection.execute(
            "INSERT INTO patients (id, external_id, pseudonym, consented_at) VALUES (1, 1, ?, ?)",
            ("P-AAAAAAAA", to_db_time(NOW)),
        )
        connection.commit()
        n = 0
        while not stop.is_set():
            connection.execute(
                "INSERT INTO responses (id, patient_id, survey_id, status, started_at)"
                " VALUES (?, 1, 'post_visit', 'abandoned', ?)",
                (f"r{n:07d}", to_db_time(NOW)),
            )
            connection.commit()
            n += 1
            written.append(n)
            time.sleep(0.001)


def test_a_backup_taken_while_the_bot_writes_is_whole_and_private(tmp_path: Path) -> None:
    db = tmp_path / "feedback.db"
    asyncio.run(_close(db))  # the schema
    stop, written = threading.Event(), [0]
    writer = threading.Thread(target=keep_writing, args=(db, stop, written))
    writer.start()
    try:
        while written[-1] < 200:
            time.sleep(0.01)
        before = written[-1]
        result = run_cli(tmp_path, "backup", "copy.db")
        after = written[-1]
    finally:
        stop.set()
        writer.join()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"backed up {db} to copy.db: ")
    copy = tmp_path / "copy.db"
    with sqlite3.connect(copy) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        [[responses]] = connection.execute("SELECT count(*) FROM responses").fetchall()
    assert before <= responses <= after  # one moment's snapshot, while writes went on
    assert f"{responses} responses" in result.stdout
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert not (tmp_path / "copy.db-wal").exists()  # one self-contained file
    again = run_cli(tmp_path, "backup", "copy.db")
    assert again.returncode == 1
    assert again.stderr.strip() == "feedback-bot: copy.db already exists; back up to a new file"


def test_a_restored_backup_runs_as_the_database(tmp_path: Path) -> None:
    db = tmp_path / "feedback.db"
    asyncio.run(_close(db))
    assert run_cli(tmp_path, "backup", "copy.db").returncode == 0
    db.unlink()
    (tmp_path / "copy.db").rename(db)
    result = run_cli(tmp_path, "summary", "--period", "all")
    assert result.returncode == 0, result.stderr
    assert "Responses: 0 started" in result.stdout


async def _close(db: Path) -> None:
    database = await Database.open(db)
    await database.close()
