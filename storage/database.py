"""The database: a SQLite file or PostgreSQL, its migrations and its transactions."""

from __future__ import annotations

import asyncio
import errno
import os
import re
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Self, TypeVar

import aiosqlite
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnClause,
    Executable,
    NullPool,
    ScalarSelect,
    column,
    event,
    func,
    literal,
    literal_column,
    make_url,
    select,
    table,
    text,
)
from sqlalchemy import Connection as SyncConnection
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from storage import cipher
from storage.schema import COMMENT_SEARCH, handled_events, inbox, responses
from storage.sql import (
    Connection,
    StoredRow,
    Values,
)

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
    """The database cannot be opened or used."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"cannot open the database {path}: {reason}")
        self.path = path
        self.reason = reason


def _reason(error: BaseException, *, encrypted: bool = False) -> str:
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
    if "not a database" in text and encrypted:
        return (
            "the key in FEEDBACK_DB_KEY_FILE does not open it (another key, or the file is "
            "not encrypted yet: feedback-bot encrypt-db)"
        )
    if "not a database" in text:
        return (
            f"the file is not a usable SQLite database ({text}), or it is encrypted and "
            "FEEDBACK_DB_KEY_FILE is not set"
        )
    if "malformed" in text:
        return f"the file is not a usable SQLite database ({text})"
    if "unable to open" in text:
        return "SQLite cannot open it (does its folder exist, and may the bot write there?)"
    if "locked" in text:
        return "it is locked by another program"
    return text


POSTGRESQL_DRIVER_MISSING = (
    "a PostgreSQL database needs its driver, which is not installed: "
    "pip install '/path/to/medspa-feedback-bot[postgres]' (the folder you installed from)"
)


def postgresql_driver_installed() -> bool:
    """Whether asyncpg, the PostgreSQL driver (an optional extra), can be imported."""
    try:
        import asyncpg  # noqa: F401, PLC0415 - an optional extra, only for PostgreSQL
    except ImportError:
        return False
    return True


def is_postgresql(location: Path | str) -> bool:
    """Whether `FEEDBACK_DB` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.split(":", 1)[0].split("+", 1)[0] in (
        "postgresql",
        "postgres",
    )


_POSTGRESQL_SESSION = {
    # asyncpg prepares every statement, and after five runs PostgreSQL may plan it once for
    # any values: a day's slice of `started_at` then reads like a quarter (the console's
    # figures went from 37 to 110 ms on a million answers). Each run is planned for its own
    # values instead.
    "plan_cache_mode": "force_custom_plan",
    # The bot's queries are short and many come at once: starting parallel workers for one
    # costs more than it saves (a provider's fourth page of comments: 100 ms with them, 58
    # without, on 2 cores), and the cores are better left to the other requests.
    "max_parallel_workers_per_gather": "0",
}


def postgresql_url(location: str) -> str:
    """A `postgresql://` address as SQLAlchemy's asyncpg URL.

    libpq's `sslmode=verify-full`, which operators know, is asyncpg's `ssl=verify-full`.
    """
    _, rest = location.split("://", 1)
    url = make_url(f"postgresql+asyncpg://{rest}")
    mode = url.query.get("sslmode")
    if mode is not None:
        url = url.difference_update_query(["sslmode"]).update_query_dict({"ssl": mode})
    return url.render_as_string(hide_password=False)


def shown(location: Path | str) -> str:
    """The database's address without a password, for messages and logs."""
    if not is_postgresql(location):
        return str(location)
    return make_url(str(location)).render_as_string(hide_password=True)


_T = TypeVar("_T")

# PostgreSQL's advisory locks for migrations and for the one worker that sends. Two-number
# keys: their space is apart from the one-number keys, which are people's Telegram ids.
_LOCK_AREA = 7240
_MIGRATION_LOCK = (_LOCK_AREA, 1)
_DISPATCHER_LOCK = (_LOCK_AREA, 2)
_ALONE_LOCK = (_LOCK_AREA, 3)
AUDIT_LOCK = (_LOCK_AREA, 4)
"""Held while an entry is added to the audit trail: each follows the one before."""
# Connections that hold a patient's lock while their update is handled, per worker: updates
# beyond this wait for one to come free.
PERSON_LOCKS = 32
# Rows a streamed query holds in memory at a time.
STREAM_BATCH = 1000


async def _finished(step: Awaitable[_T]) -> _T:
    """Await a statement to its end even if the caller is cancelled meanwhile.

    SQLAlchemy invalidates a connection whose statement is interrupted (its state is then
    unknown): SQLite's one shared connection would be lost to every store. A statement takes
    milliseconds, so the cancellation is delivered once it is done.
    """
    running = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        with suppress(Exception):
            await running
        raise


class _OnConnection:
    """Statements on one connection: SQLite's shared one, or a PostgreSQL transaction's."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def run(
        self,
        statement: Executable,
        values: Values | None,
        outcome: Callable[[CursorResult[Any]], _T],
    ) -> _T:
        return outcome(await _finished(self._connection.execute(statement, values)))

    async def plain(self, sql: str) -> None:
        """A statement of SQLite's own (BEGIN, COMMIT, PRAGMA), without values."""
        await _finished(self._connection.exec_driver_sql(sql))

    async def rollback(self) -> None:
        """Undo the transaction, if one is open (a failed BEGIN or COMMIT may leave none)."""
        with suppress(OperationalError):
            await self.plain("ROLLBACK")


class _PooledRunner:
    """Reads on PostgreSQL: each statement on a connection from the pool, in autocommit."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def run(
        self,
        statement: Executable,
        values: Values | None,
        outcome: Callable[[CursorResult[Any]], _T],
    ) -> _T:
        async with self._engine.connect() as connection:
            return outcome(await _finished(connection.execute(statement, values)))


class Database:
    """The bot's database: a SQLite file (the default) or PostgreSQL, through SQLAlchemy.

    Created closed, so that the bot can be wired synchronously and opened in `post_init`.

    SQLite: one connection shared by every store. Patients are handled concurrently, so
    write transactions are serialised by a lock: without it two handlers could interleave
    statements inside one transaction. Reads share it too, so a handler always reads what it
    has just written (a second connection's snapshot can be older while another read is in
    progress).

    PostgreSQL: a pool of connections; each transaction has its own, and PostgreSQL keeps
    them apart, across this process and every other worker. What must happen once across
    workers (one patient's updates, sending) is arranged with advisory locks (`person_lock`,
    `Dispatcher`).
    """

    def __init__(self, location: Path | str, *, key: str | None = None) -> None:
        self.location = location
        self._key = key
        """SQLCipher's key for an encrypted SQLite file (storage/cipher.py), else `None`."""
        self.dialect = "postgresql" if is_postgresql(location) else "sqlite"
        self._engine: AsyncEngine | None = None
        self._locks_engine: AsyncEngine | None = None
        self._sqlite: AsyncConnection | None = None
        self._sqlite_runner: _OnConnection | None = None
        self._reader: Connection | None = None
        self._write_lock = asyncio.Lock()
        self.dispatcher = Dispatcher(self)
        """Whether this worker is the one that sends (always, on SQLite)."""

    @classmethod
    async def open(cls, location: Path | str, *, key: str | None = None) -> Self:
        """A database that is already initialised."""
        database = cls(location, key=key)
        await database.initialize()
        return database

    @property
    def postgresql(self) -> bool:
        """Whether this is a shared PostgreSQL database (several workers may use it)."""
        return self.dialect == "postgresql"

    def insertion_order(self) -> ColumnClause[int]:
        """The column that orders responses as they were stored: SQLite's rowid, or `seq`."""
        return literal_column("responses.seq" if self.postgresql else "responses.rowid")

    @property
    def connection(self) -> Connection:
        """Where stores read."""
        if self._reader is None:
            raise RuntimeError("the database is not open; call initialize() first")
        return self._reader

    async def initialize(self) -> None:
        """Open (creating if needed) the database and bring its schema up to date.

        Raises `DatabaseUnavailableError` (saying why, in a line) if it cannot be opened or
        is not a database.
        """
        if self.postgresql:
            if not postgresql_driver_installed():
                raise DatabaseUnavailableError(shown(self.location), POSTGRESQL_DRIVER_MISSING)
            try:
                await self._connect_postgresql()
            except (OSError, SQLAlchemyError) as exc:
                await self.close()
                raise DatabaseUnavailableError(shown(self.location), _pg_reason(exc)) from exc
            return
        errors: tuple[type[Exception], ...] = (OSError, DBAPIError, *cipher.database_errors())
        try:
            _owner_only(self.location)
            await asyncio.to_thread(
                _migrate_legacy, str(self.location), cipher.connector(self._key)
            )
            await self._connect_sqlite()
        except cipher.SQLCipherMissingError as exc:
            raise DatabaseUnavailableError(self.location, str(exc)) from exc
        except errors as exc:
            reason = exc.orig if isinstance(exc, DBAPIError) else exc
            if reason is None or not isinstance(reason, errors):
                raise
            raise DatabaseUnavailableError(
                self.location, _reason(reason, encrypted=self._key is not None)
            ) from exc

    async def _connect_sqlite(self) -> None:
        if self._key is None:
            engine = create_async_engine(
                f"sqlite+aiosqlite:///{self.location}", poolclass=NullPool
            )
        else:
            path, key = str(self.location), self._key
            engine = create_async_engine(
                "sqlite+aiosqlite://",
                poolclass=NullPool,
                # SQLCipher's errors are then SQLAlchemy's, as sqlite3's are.
                module=AsyncAdapt_aiosqlite_dbapi(aiosqlite, cipher.sqlcipher()),
                async_creator=lambda: cipher.async_connection(path, key),
            )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # AUTOCOMMIT: we issue BEGIN IMMEDIATE and COMMIT ourselves (see `transaction`).
        connection = await engine.execution_options(isolation_level="AUTOCOMMIT").connect()
        self._engine = engine
        self._sqlite = connection
        self._sqlite_runner = _OnConnection(connection)
        try:
            self._reader = Connection(self._sqlite_runner, "sqlite")
            await self.migrate()
        except BaseException:
            await self.close()
            raise

    async def _connect_postgresql(self) -> None:
        url = postgresql_url(str(self.location))
        self._engine = create_async_engine(
            url,
            pool_size=10,
            max_overflow=30,
            pool_pre_ping=True,
            connect_args={"server_settings": _POSTGRESQL_SESSION},
        )
        # Held for as long as a patient's update is handled, so apart from the statements'.
        self._locks_engine = create_async_engine(
            url, pool_size=PERSON_LOCKS, max_overflow=0, pool_timeout=3600
        )
        self._reader = Connection(
            _PooledRunner(self._engine.execution_options(isolation_level="AUTOCOMMIT")),
            "postgresql",
        )
        await self.migrate()

    async def schema_version(self) -> str | None:
        """The Alembic revision the database is at (None before the first)."""
        try:
            version = await self.connection.scalar(
                select(column("version_num")).select_from(table("alembic_version"))
            )
        except (ProgrammingError, OperationalError):
            return None
        return None if version is None else str(version)

    async def migrate(self) -> None:
        """Bring the schema up to date with Alembic (one worker at a time on PostgreSQL)."""
        if self._sqlite is not None and self._sqlite_runner is not None:
            async with self._write_lock:
                try:
                    await self._sqlite_runner.plain("BEGIN IMMEDIATE")
                    await _finished(self._sqlite.run_sync(upgrade_schema))
                    await self._sqlite_runner.plain("COMMIT")
                except BaseException:
                    await self._sqlite_runner.rollback()
                    raise
            return
        async with self._require_engine().begin() as connection:
            await connection.execute(select(func.pg_advisory_xact_lock(*_MIGRATION_LOCK)))
            await connection.run_sync(upgrade_schema)

    def _require_engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the database is not open; call initialize() first")
        return self._engine

    @asynccontextmanager
    async def transaction(self, *, alone: bool = False) -> AsyncIterator[Connection]:
        """A write transaction, committed on success and rolled back on any error.

        `alone`: no other such transaction runs meanwhile in any worker (rebuilding the
        daily totals). SQLite's write transactions are one at a time anyway.
        """
        runner = self._sqlite_runner
        if runner is None:
            async with self._require_engine().begin() as connection:
                if alone:
                    await connection.execute(select(func.pg_advisory_xact_lock(*_ALONE_LOCK)))
                yield Connection(_OnConnection(connection), "postgresql")
            return
        async with self._write_lock:
            try:
                await runner.plain("BEGIN IMMEDIATE")
                yield self.connection
                await runner.plain("COMMIT")
            except BaseException:
                await runner.rollback()
                raise

    async def stream(self, query: Executable) -> AsyncGenerator[StoredRow]:
        """A long query's rows a batch at a time (an export), on a connection of its own.

        Its own: on SQLite a read snapshot beside the shared connection (WAL lets the bot
        keep writing), so that stopping half-way harms nothing else. PostgreSQL reads it
        through a server-side cursor, so only a batch is ever in memory.
        """
        async with self._require_engine().connect() as connection:
            options = {"yield_per": STREAM_BATCH}
            async with connection.stream(query, execution_options=options) as result:
                async for batch in result.partitions():
                    for row in batch:
                        yield row

    @asynccontextmanager
    async def person_lock(self, key: int) -> AsyncIterator[None]:
        """Hold `key`'s lock across every worker while the block runs (PostgreSQL).

        On SQLite one process has the file, and its own per-person lanes suffice.
        """
        if self._locks_engine is None:
            yield
            return
        async with self._locks_engine.connect() as connection:
            # One BIGINT key (a Telegram id exceeds 32 bits): apart from the two-number keys.
            person = literal(key, BigInteger)
            await connection.execute(select(func.pg_advisory_lock(person)))
            await connection.commit()
            try:
                yield
            finally:
                await connection.execute(select(func.pg_advisory_unlock(person)))
                await connection.commit()

    @property
    def locks_engine(self) -> AsyncEngine | None:
        """Connections that hold advisory locks (PostgreSQL only)."""
        return self._locks_engine

    async def answers(self) -> bool:
        """Whether the database is open and answers a query (for health checks)."""
        if self._reader is None:
            return False
        try:
            await self.connection.scalar(select(literal(1)))
        except (SQLAlchemyError, OSError, ValueError):
            return False
        return True

    async def last_ids(self) -> tuple[int, int]:
        """The highest Telegram update id and patient-chat message id stored (0 if none)."""

        def newest(column: Column[int]) -> ScalarSelect[int]:
            return select(func.coalesce(func.max(column), 0)).scalar_subquery()

        row = await self.connection.first(
            select(
                newest(handled_events.c.event_key),
                newest(inbox.c.update_id),
                newest(responses.c.asked_message_id),
            )
        )
        return (max(int(row[0]), int(row[1])), int(row[2])) if row else (0, 0)

    async def integrity_check(self) -> str:
        """SQLite's own check of the file: "ok", or what is wrong ("ok" on PostgreSQL)."""
        if self.postgresql:
            return "ok"
        rows = await self.connection.rows(text("PRAGMA integrity_check"))
        return "; ".join(str(row[0]) for row in rows)

    async def checkpoint(self) -> None:
        """Leave no copy of deleted rows behind: in the comments' index, then the WAL file.

        After a deletion. FTS5 marks a deleted comment's trigrams deleted and keeps them
        until its segments are merged: "optimize" merges them all now (0.7 s for 330,000
        comments), then the write-ahead log is copied into the database and emptied (with
        `secure_delete`, freed pages are zeroed). PostgreSQL's own WAL and dead index
        entries are the server's to recycle.
        """
        if self._sqlite_runner is None:
            return
        async with self._write_lock:
            merge = f"INSERT INTO {COMMENT_SEARCH} ({COMMENT_SEARCH}) VALUES ('optimize')"  # noqa: S608 - a constant's name
            await self._sqlite_runner.plain(merge)
            await self._sqlite_runner.plain("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        """Close every connection (every write has already committed)."""
        await self.dispatcher.resign()
        if self._sqlite is not None:
            await self._sqlite.close()
            self._sqlite = self._sqlite_runner = None
        for engine in (self._engine, self._locks_engine):
            if engine is not None:
                await engine.dispose()
        self._engine = self._locks_engine = None
        self._reader = None


class Dispatcher:
    """Which worker sends follow-ups, alerts and owed messages, and tidies up: one at a time.

    On PostgreSQL the worker holding an advisory lock, on a connection of its own, is the
    one; if it dies its connection closes, the lock is released, and another worker takes
    over at its next check. On SQLite there is one process, and it always is.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._held: AsyncConnection | None = None

    async def leading(self) -> bool:
        """Whether this worker is the one; takes the lock if nobody holds it."""
        engine = self._database.locks_engine
        if engine is None:
            return True
        if self._held is not None:
            try:
                await self._held.execute(select(literal(1)))
                await self._held.commit()
            except (SQLAlchemyError, OSError):
                await self._drop()
            else:
                return True
        connection = await engine.connect()
        try:
            result = await connection.execute(select(func.pg_try_advisory_lock(*_DISPATCHER_LOCK)))
            won = bool(result.scalar())
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        if not won:
            await connection.close()
            return False
        self._held = connection
        return True

    async def _drop(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            with suppress(SQLAlchemyError, OSError):
                await held.invalidate()

    async def resign(self) -> None:
        """Let another worker take over (at shutdown)."""
        held, self._held = self._held, None
        if held is not None:
            with suppress(SQLAlchemyError, OSError):
                await held.execute(select(func.pg_advisory_unlock(*_DISPATCHER_LOCK)))
                await held.close()


def _sqlite_pragmas(dbapi_connection: Any, _: object) -> None:  # noqa: ANN401 - the driver's
    cursor = dbapi_connection.cursor()
    # Deleted rows (a patient's /forget, retention) are overwritten, not just unlinked.
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    # FULL makes each commit durable on power loss too, not only on a process crash.
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA busy_timeout = 5000")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _migrate_legacy(path: str, connect: Callable[..., Any] = sqlite3.connect) -> None:
    """Apply the SQLite migrations from before Alembic (1 to 13) that the file lacks.

    They are the schema's history on SQLite, kept as they shipped; Alembic's revisions take
    over from the schema they leave (see `storage/revisions`).
    """
    with closing(connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA busy_timeout = 5000")
        current = int(connection.execute("PRAGMA user_version").fetchone()[0])
        for number, _, sql in migrations():
            if number <= current:
                continue
            # One script per migration so that its statements and the version bump commit
            # together or not at all.
            try:
                connection.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;"
                )
            except BaseException:
                if connection.in_transaction:
                    connection.rollback()
                raise


def newest_revision() -> str:
    """The Alembic revision this release's schema is at."""
    config = Config()
    config.set_main_option("script_location", "storage:revisions")
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:  # pragma: no cover - the revisions ship with the package
        raise RuntimeError("no schema revisions found")
    return head


def upgrade_schema(connection: SyncConnection, revision: str = "head") -> None:
    """Run Alembic's revisions on this connection and in its transaction.

    Up to the newest, or to `revision` (the tests build a past release's schema so).
    """
    config = Config()
    config.set_main_option("script_location", "storage:revisions")
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _pg_reason(error: OSError | SQLAlchemyError) -> str:
    """Why PostgreSQL could not be used, in a line."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text_ = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    if isinstance(cause, ConnectionRefusedError) or "Connect call failed" in text_:
        return "nothing answers at that address (is PostgreSQL running?)"
    return text_


@dataclass(frozen=True, slots=True)
class Backup:
    """A finished backup: where, how big, and what it holds."""

    path: Path
    size: int
    responses: int


def backup(source: Path, target: Path, *, key: str | None = None) -> Backup:
    """A consistent copy of the live database at `target`, while the bot keeps writing.

    SQLite's online backup API copies one snapshot (a read transaction, which in WAL mode
    never blocks the bot's writes). The copy is written next to `target`, checked with
    `integrity_check`, made private (0600) and only then renamed into place, so `target` is
    either the whole backup or not there. Raises `FileExistsError` rather than overwrite.
    An encrypted database's backup is encrypted with the same key.
    """
    if target.exists():
        raise FileExistsError(errno.EEXIST, "already exists; choose a new name", str(target))
    connect = cipher.connector(key)
    # The connections close before the copy is renamed into place.
    with (
        _replacing(target, "partial") as partial,
        closing(connect(source)) as live,
        closing(connect(partial)) as copy,
    ):
        live.backup(copy)  # one step: one snapshot
        responses = _checked(copy)
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    return Backup(target, target.stat().st_size, responses)


def encrypt_in_place(path: Path, key: str) -> int:
    """Encrypt the plain database at `path` with `key`; how many responses it holds.

    Holds the file exclusively throughout, so it refuses ("locked") while the bot has it
    open, and the bot cannot open it meanwhile. The encrypted copy is written beside it
    and renamed over it only once complete and checked, the lock still held: a crash
    before leaves the original as it was, after it the encrypted file whole.
    """
    # SQLCipher's module opens a plain file too, given no key.
    with closing(cipher.sqlcipher().connect(path, isolation_level=None, timeout=1)) as plain:
        plain.execute("PRAGMA locking_mode = EXCLUSIVE")
        plain.execute("BEGIN EXCLUSIVE")
        plain.execute("COMMIT")
        # The write-ahead log folded in and removed: a stale one must not meet the new file.
        plain.execute("PRAGMA journal_mode = DELETE")
        version = int(plain.execute("PRAGMA user_version").fetchone()[0])
        with _replacing(path, "encrypting") as partial:
            plain.execute(f"ATTACH DATABASE ? AS encrypted KEY \"x'{key}'\"", (str(partial),))
            plain.execute("SELECT sqlcipher_export('encrypted')")
            plain.execute(f"PRAGMA encrypted.user_version = {version}")
            plain.execute("DETACH DATABASE encrypted")
            with closing(cipher.keyed(partial, key)) as copy:
                responses = _checked(copy)
    return responses


@contextmanager
def _replacing(target: Path, kind: str) -> Iterator[Path]:
    """A new private file beside `target`, put in its place once the block ends well.

    Written to disk before the rename, and the rename too; removed if the block fails, so
    `target` is either as it was or the new file whole.
    """
    partial = target.with_name(f".{target.name}.{kind}")
    partial.unlink(missing_ok=True)
    _owner_only(partial)
    try:
        yield partial
        _synced(partial)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _synced(target.parent)


def _synced(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _checked(copy: Any) -> int:  # noqa: ANN401 - sqlite3's or SQLCipher's connection
    """How many responses a copy holds, once SQLite's integrity check passes."""
    check = copy.execute("PRAGMA integrity_check").fetchone()
    if check is None or check[0] != "ok":
        raise sqlite3.DatabaseError(f"the copy failed its integrity check: {check}")
    return int(copy.execute("SELECT count(*) FROM responses").fetchone()[0])
