"""Encryption at rest for the SQLite file: SQLCipher, keyed from `FEEDBACK_DB_KEY_FILE`.

SQLCipher encrypts every page of the file (AES-256), its write-ahead log and its backups
with a key that never leaves the key file and this process: not the environment, a log or
an error. The key is 32 random bytes written as 64 hex digits, used as SQLCipher's raw key,
so opening a connection costs no key derivation.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import aiosqlite

PLAIN_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite file that is not encrypted."""
SQLCIPHER_MISSING = (
    "an encrypted database needs SQLCipher, which is not installed: "
    "pip install '/path/to/medspa-feedback-bot[encryption]' (the folder you installed from)"
)


class SQLCipherMissingError(RuntimeError):
    """An encrypted database, and no SQLCipher to open it with."""


def sqlcipher() -> ModuleType:
    """SQLCipher's DB-API module (an optional extra); `SQLCipherMissingError` without."""
    try:
        import sqlcipher3.dbapi2 as module  # noqa: PLC0415 - only for an encrypted database
    except ImportError:
        raise SQLCipherMissingError(SQLCIPHER_MISSING) from None
    return cast("ModuleType", module)


def database_errors() -> tuple[type[Exception], ...]:
    """What a SQLite file that cannot be used raises, plain or encrypted.

    sqlite3's database error and, if it is installed, SQLCipher's: a class of its own.
    """
    try:
        return (sqlite3.DatabaseError, sqlcipher().DatabaseError)
    except SQLCipherMissingError:
        return (sqlite3.DatabaseError,)


def is_encrypted(path: Path) -> bool:
    """Whether an existing, non-empty file is not plain SQLite (encrypted, or not a database)."""
    with path.open("rb") as file:
        header = file.read(len(PLAIN_HEADER))
    return bool(header) and header != PLAIN_HEADER


def keyed(path: str | Path, key: str, **options: Any) -> Any:  # noqa: ANN401 - the driver's
    """A SQLCipher connection to `path`, keyed before anything else is read."""
    connection = sqlcipher().connect(str(path), **options)
    # Its own log would print a wrong key's failures on stderr: the operator gets one line.
    connection.execute("PRAGMA cipher_log_level = NONE")
    # The raw key, as a blob literal: the key is hex digits only (checked in `read_key`).
    connection.execute(f"PRAGMA key = \"x'{key}'\"")
    return connection


def connector(key: str | None) -> Callable[..., Any]:
    """`sqlite3.connect`, for files encrypted with `key` if there is one."""
    return sqlite3.connect if key is None else functools.partial(keyed, key=key)


async def async_connection(path: str, key: str) -> aiosqlite.Connection:
    """A keyed connection for SQLAlchemy's aiosqlite dialect (its `async_creator`)."""
    connection = aiosqlite.Connection(
        functools.partial(keyed, path, key, isolation_level=None, check_same_thread=False),
        iter_chunk_size=64,
    )
    connection._thread.daemon = True  # noqa: SLF001 - as SQLAlchemy does for its own
    return await connection
