"""Encryption at rest: the SQLite file, its write-ahead log and its backups under SQLCipher.

`FEEDBACK_DB_KEY_FILE` names a file, the bot's user's alone, holding a 256-bit key; the key
is never in the environment, a log or an error. `feedback-bot encrypt-db` converts a plain
file in place, refusing while the bot has it open, and a failure midway leaves the
original as it was.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.keyfile import new_key_file
from storage import cipher
from storage.database import Database, encrypt_in_place
from storage.schema import responses
from tests.fake_telegram import FakeTelegram
from tests.harness import FakeClock, make_settings, running_bot
from tests.test_cli import TOKEN, made_by_the_bot, populate, run_cli
from tests.test_patient_flow import answer_all

COMMENT = "Bruising along the jawline, quite tender"


def header(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(16)


def holds(path: Path, words: str) -> bool:
    return path.exists() and words.encode() in path.read_bytes()


def plain_clinic(tmp_path: Path) -> Path:
    db = tmp_path / "feedback.db"
    made_by_the_bot(db)
    asyncio.run(populate(db))
    return db


def exported(tmp_path: Path, **env: str) -> list[dict[str, object]]:
    result = run_cli(tmp_path, "export", "--format", "jsonl", **env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


async def test_the_bot_runs_on_an_encrypted_file_and_no_patient_word_is_readable_on_disk(
    telegram: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    key_file = tmp_path / "db.key"
    new_key_file(key_file)
    db = tmp_path / "feedback.db"
    settings = make_settings(telegram, db, db_key_file=key_file)
    async with running_bot(settings, clock):
        patient = telegram.patient(540)
        await answer_all(patient, "2", "4", COMMENT)
        assert "Thank you" in (await patient.next_message()).text
        # While it runs, the write-ahead log holds the newest pages: encrypted too.
        assert not holds(db.with_name("feedback.db-wal"), "jawline")
    assert header(db) != cipher.PLAIN_HEADER
    assert not holds(db, "jawline")
    with_key = exported(tmp_path, FEEDBACK_DB_KEY_FILE=str(key_file))
    [record] = with_key
    assert COMMENT in record["answers"].values()  # type: ignore[attr-defined]

    without = run_cli(tmp_path, "summary")
    assert without.returncode == 1
    assert without.stderr.startswith("feedback-bot: cannot open the database")
    other_key = tmp_path / "other.key"
    new_key_file(other_key)
    wrong = run_cli(tmp_path, "summary", FEEDBACK_DB_KEY_FILE=str(other_key))
    assert wrong.returncode == 1
    [line] = wrong.stderr.strip().splitlines()
    assert "the key in FEEDBACK_DB_KEY_FILE does not open it" in line
    for key in (key_file, other_key):
        assert key.read_text().strip() not in wrong.stderr + without.stderr


@pytest.mark.parametrize(
    ("content", "mode", "says"),
    [
        pytest.param("ab" * 32, 0o644, "may be read by others: chmod 600", id="readable by all"),
        pytest.param("my clinic password", 0o600, "does not hold a key", id="not a key"),
        pytest.param(None, 0o600, "does not exist", id="missing"),
    ],
)
def test_a_key_file_that_is_missing_public_or_not_a_key_is_one_line_without_the_key(
    tmp_path: Path, content: str | None, mode: int, says: str
) -> None:
    plain_clinic(tmp_path)
    key_file = tmp_path / "db.key"
    if content is not None:
        key_file.write_text(content)
        key_file.chmod(mode)
    result = run_cli(tmp_path, "summary", FEEDBACK_DB_KEY_FILE=str(key_file))
    assert result.returncode == 1
    [first, problem] = result.stderr.strip().splitlines()
    assert first == "feedback-bot: configuration problem:"
    assert problem.startswith("  - FEEDBACK_DB_KEY_FILE:")
    assert says in problem
    if content is not None:
        assert content not in result.stderr


def test_encrypt_db_converts_a_plain_file_in_place_and_writes_a_new_private_key(
    tmp_path: Path,
) -> None:
    db = plain_clinic(tmp_path)
    before = exported(tmp_path)
    key_file = tmp_path / "keys" / "db.key"
    key_file.parent.mkdir()
    result = run_cli(tmp_path, "encrypt-db", FEEDBACK_DB_KEY_FILE=str(key_file))
    assert result.returncode == 0, result.stderr
    assert f"wrote a new key to {key_file}" in result.stdout
    assert "encrypted" in result.stdout
    assert "3 responses, integrity ok" in result.stdout
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert header(db) != cipher.PLAIN_HEADER
    assert not holds(db, "Lovely, natural result")
    assert not db.with_name(".feedback.db.encrypting").exists()
    # The same answers, read with the key; the bot's own copy of the trail came too.
    after = exported(tmp_path, FEEDBACK_DB_KEY_FILE=str(key_file))
    assert after == before
    verify = run_cli(tmp_path, "audit", "verify", FEEDBACK_DB_KEY_FILE=str(key_file))
    assert verify.returncode == 0, verify.stderr
    again = run_cli(tmp_path, "encrypt-db", FEEDBACK_DB_KEY_FILE=str(key_file))
    assert again.returncode == 1
    assert "encrypted already" in again.stderr
    protected = {
        "FEEDBACK_DB_KEY_FILE": str(key_file),
        "FEEDBACK_ALERT_DETAIL": "minimal",
        "FEEDBACK_ADMINS": "777",
        "FEEDBACK_STAFF": "880,881",
    }
    checked = run_cli(tmp_path, "check-config", FEEDBACK_BOT_TOKEN=TOKEN, **protected)
    assert checked.returncode == 0, checked.stderr
    for line in (
        "team: 1 admins, 2 staff",
        "staff alerts: minimal (patients' words and numbers behind Details)",
        f"database file: encrypted, key in {key_file}",
    ):
        assert line in checked.stdout


def test_encrypt_db_refuses_while_the_bot_has_the_file_open_and_leaves_it_plain(
    tmp_path: Path,
) -> None:
    db = plain_clinic(tmp_path)
    bot = sqlite3.connect(db, isolation_level=None)  # as the bot holds it: WAL, idle
    try:
        bot.execute("PRAGMA journal_mode = WAL")
        bot.execute("SELECT count(*) FROM responses").fetchone()
        key_file = tmp_path / "db.key"
        result = run_cli(tmp_path, "encrypt-db", FEEDBACK_DB_KEY_FILE=str(key_file))
        assert result.returncode == 1
        [line] = result.stderr.strip().splitlines()
        assert line.endswith("is open in another program: stop the bot first")
        assert bot.execute("SELECT count(*) FROM responses").fetchone() == (3,)
    finally:
        bot.close()
    assert header(db) == cipher.PLAIN_HEADER
    assert len(exported(tmp_path)) == 3


def test_a_failure_before_the_encrypted_copy_takes_its_place_leaves_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = plain_clinic(tmp_path)
    before = exported(tmp_path)
    key = new_key_file(tmp_path / "db.key")

    def power_cut(_: Path, __: Path) -> Path:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(Path, "replace", power_cut)
    with pytest.raises(OSError, match="Input/output"):
        encrypt_in_place(db, key)
    monkeypatch.undo()
    assert header(db) == cipher.PLAIN_HEADER
    assert exported(tmp_path) == before
    assert not db.with_name(".feedback.db.encrypting").exists()


def test_a_backup_of_an_encrypted_file_is_encrypted_and_copy_db_reads_it(
    tmp_path: Path, postgresql: str
) -> None:
    db = plain_clinic(tmp_path)
    key_file = tmp_path / "db.key"
    assert run_cli(tmp_path, "encrypt-db", FEEDBACK_DB_KEY_FILE=str(key_file)).returncode == 0
    copy = tmp_path / "backups" / "monday.db"
    backed = run_cli(tmp_path, "backup", str(copy), FEEDBACK_DB_KEY_FILE=str(key_file))
    assert backed.returncode == 0, backed.stderr
    assert header(copy) != cipher.PLAIN_HEADER
    assert copy.stat().st_mode & 0o777 == 0o600
    restored = exported(tmp_path, FEEDBACK_DB=str(copy), FEEDBACK_DB_KEY_FILE=str(key_file))
    assert len(restored) == 3
    moved = run_cli(tmp_path, "copy-db", "--to", postgresql, FEEDBACK_DB_KEY_FILE=str(key_file))
    assert moved.returncode == 0, moved.stderr
    assert "3 responses" in moved.stdout

    async def responses_there() -> int:
        database = await Database.open(postgresql)
        try:
            return int(
                await database.connection.scalar(select(func.count()).select_from(responses))
            )
        finally:
            await database.close()

    assert db.exists()
    assert asyncio.run(responses_there()) == 3
