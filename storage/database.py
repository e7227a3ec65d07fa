"""The one SQLite connection: pragmas, migrations and serialised write transactions."""

from __future__ import annotations

import asyncio
import errno
import os
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Self

import aiosqlite

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# SQLite gives the -wal and -shm files the database file's permissions.
OWNER_ONLY = 0o600


def _owner_only(path: Path | str) -> None:
    """Create the database file readable by its owner only, or make an existing one so."""
    if str(path) == ":memory:" or str(path).startswith("file:"):
        return
    base = Path(path)
    os.close(os.open(base, os.O_CREAT | os.O_WRONLY, OWNER_ONLY))
    for file in (base, Path(f"{base}-wal"), Path(f"{base}-shm")):
        if file.exists():
            file.chmod(OWNER_ONLY)


def migrations() -> list[tuple[int, str, str]]:
    """The shipped migrations as (number, name, sql), in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {numbers}")
    return found


def to_db_time(moment: datetime) -> str:
    """Timestamps are stored as UTC ISO-8601 text, so they sort and compare as strings."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware one")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(text: str) -> datetime:
    """The inverse of `to_db_time`."""
    return datetime.fromisoformat(text)


class DatabaseUnavailableError(Exception):
    """The database file cannot be opened or used."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"cannot open the database {path}: {reason}")
        self.path = path
        self.reason = reason


def _reason(error: OSError | sqlite3.DatabaseError) -> str:
    """Why a database could not be opened, in words an operator acts on."""
    if isinstance(error, PermissionError):
        return "permission denied (the bot's user must be able to write the file and its folder)"
    if isinstance(error, IsADirectoryError):
        return "that is a folder, not a file"
    if isinstance(error, FileNotFoundError):
        return "its folder does not exist"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    text = str(error)
    if "not a database" in text or "malformed" in text:
        return f"the file is not a usable SQLite database ({text})"
    if "unable to open" in text:
        return "SQLite cannot open it (does its folder exist, and may the bot write there?)"
    if "locked" in text:
        return "it is locked by another program"
    return text


class Database:
    """Owns the single aiosqlite connection shared by every store.

    Created closed, so that the bot can be wired synchronously and opened in `post_init`.

    Patients are handled concurrently and share the connection, so write transactions are
    serialised by a lock: without it two handlers could interleave statements inside one
    transaction. Reads share it too, so a handler always reads what it has just written (a
    second connection's snapshot can be older while another read is in progress).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self._connection: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Self:
        """A database that is already initialised."""
        database = cls(path)
        await database.initialize()
        return database

    @property
    def connection(self) -> aiosqlite.Connection:
        """The open connection; stores use it for reads."""
        if self._connection is None:
            raise RuntimeError("the database is not open; call initialize() first")
        return self._connection

    async def initialize(self) -> None:
        """Open (creating if needed) the database file and bring its schema up to date.

        Raises `DatabaseUnavailableError` (saying why, in a line) if the file cannot be
        opened or is not a database.
        """
        try:
            _owner_only(self.path)
            await self._connect()
        except (OSError, sqlite3.DatabaseError) as exc:
            raise DatabaseUnavailableError(self.path, _reason(exc)) from exc

    async def _connect(self) -> None:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves instead of sqlite3 guessing.
        connection = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            connection.row_factory = aiosqlite.Row
            # Deleted rows (a patient's /forget, retention) are overwritten, not just unlinked.
            await connection.execute("PRAGMA secure_delete = ON")
            await connection.execute("PRAGMA journal_mode = WAL")
            # FULL makes each commit durable on power loss too, not only on a process crash.
            await connection.execute("PRAGMA synchronous = FULL")
            await connection.execute("PRAGMA busy_timeout = 5000")
            await connection.execute("PRAGMA foreign_keys = ON")
            self._connection = connection
            await self.migrate()
        except BaseException:
            self._connection = None
            await connection.close()
            raise

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        async with self.connection.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> list[str]:
        """Apply every migration newer than the database; returns the names applied."""
        applied = []
        async with self._write_lock:
            current = await self.schema_version()
            for number, name, sql in migrations():
                if number <= current:
                    continue
                # One script per migration so that its statements and the version bump commit
                # together or not at all.
                try:
                    await self.connection.executescript(
                        f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;"
                    )
                except Exception:
                    if self.connection.in_transaction:
                        await self.connection.rollback()
                    raise
                applied.append(name)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction, committed on success and rolled back on any error."""
        async with self._write_lock:
            await self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield self.connection
            except BaseException:
                await self.connection.rollback()
                raise
            await self.connection.commit()

    async def answers(self) -> bool:
        """Whether the database is open and answers a query (for health checks)."""
        if self._connection is None:
            return False
        try:
            async with self._connection.execute("SELECT 1") as cursor:
                await cursor.fetchone()
        except (sqlite3.Error, ValueError):
            return False
        return True

    async def last_ids(self) -> tuple[int, int]:
        """The highest Telegram update id and patient-chat message id stored (0 if none)."""
        async with self.connection.execute(
            "SELECT max(coalesce((SELECT max(event_key) FROM handled_events), 0),"
            " coalesce((SELECT max(update_id) FROM inbox), 0)),"
            " coalesce((SELECT max(asked_message_id) FROM responses), 0)"
        ) as cursor:
            row = await cursor.fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def integrity_check(self) -> str:
        """SQLite's own check of the file: "ok", or what is wrong."""
        async with self.connection.execute("PRAGMA integrity_check") as cursor:
            rows = await cursor.fetchall()
        return "; ".join(str(row[0]) for row in rows)

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the database and empty it.

        After a deletion, so that no copy of the deleted rows stays behind in the WAL file.
        """
        async with self._write_lock:
            await self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        """Close the connection (every write has already committed)."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


@dataclass(frozen=True, slots=True)
class Backup:
    """A finished backup: where, how big, and what it holds."""

    path: Path
    size: int
    responses: int


def backup(source: Path, target: Path) -> Backup:
    """A consistent copy of the live database at `target`, while the bot keeps writing.

    SQLite's online backup API copies one snapshot (a read transaction, which in WAL mode
    never blocks the bot's writes). The copy is written next to `target`, checked with
    `integrity_check`, made private (0600) and only then renamed into place, so `target` is
    either the whole backup or not there. Raises `FileExistsError` rather than overwrite.
    """
    if target.exists():
        raise FileExistsError(errno.EEXIST, "already exists; choose a new name", str(target))
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    _owner_only(partial)
    try:
        responses = _copy(source, partial)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Backup(target, target.stat().st_size, responses)


def _copy(source: Path, partial: Path) -> int:
    """Copy one snapshot of `source` to `partial` and check it; how many responses it holds."""
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(partial)) as copy:
        live.backup(copy)  # one step: one snapshot
        check = copy.execute("PRAGMA integrity_check").fetchone()
        if check is None or check[0] != "ok":
            raise sqlite3.DatabaseError(f"the copy failed its integrity check: {check}")
        responses = int(copy.execute("SELECT count(*) FROM responses").fetchone()[0])
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    return responses
