"""The two backends the suite runs on: a SQLite file, and a fresh PostgreSQL database.

PostgreSQL is found at `FEEDBACK_TEST_POSTGRESQL` (by default the CI machine's server on
127.0.0.1:5432, user postgres, trust auth). Each test gets a database of its own, copied from
a migrated template, and dropped afterwards. Without a server those tests skip, saying why,
unless `FEEDBACK_TEST_POSTGRESQL_REQUIRED` is set (as CI does): then they fail.
`FEEDBACK_TEST_POSTGRESQL=off` skips them on purpose: CI's run with the clock a year ahead
does, since libfaketime cannot move the clock of a server it did not start.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from functools import cache
from pathlib import Path

import pytest

from storage.database import Database

SERVER = os.environ.get("FEEDBACK_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/test")
OFF = SERVER == "off"
_TEMPLATE = f"feedback_template_{os.getpid()}"
_numbers = itertools.count(1)


def _address(name: str) -> str:
    return f"{SERVER.rsplit('/', 1)[0]}/{name}"


async def _admin(*statements: str) -> None:
    import asyncpg  # noqa: PLC0415 - only where PostgreSQL is tested

    connection = await asyncpg.connect(SERVER.replace("postgresql://", "postgres://", 1))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@cache
def _unreachable() -> str | None:
    """Why PostgreSQL cannot be used here, or None once the template is ready."""
    try:
        import asyncpg  # noqa: F401, PLC0415 - only where PostgreSQL is tested
    except ImportError:
        return "asyncpg is not installed (pip install '.[postgres]')"

    async def make_template() -> None:
        await _admin(
            f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)', f'CREATE DATABASE "{_TEMPLATE}"'
        )
        database = await Database.open(_address(_TEMPLATE))
        await database.close()

    try:
        asyncio.run(make_template())
    except OSError as exc:
        return f"no PostgreSQL at {SERVER} ({exc.strerror or exc})"
    return None


def fresh_postgresql() -> str:
    """The address of a new, migrated, empty database (skips the test without a server)."""
    if OFF:
        pytest.skip("FEEDBACK_TEST_POSTGRESQL=off: the SQLite half only")
    reason = _unreachable()
    if reason is not None:
        if os.environ.get("FEEDBACK_TEST_POSTGRESQL_REQUIRED"):
            pytest.fail(f"PostgreSQL is required here: {reason}")
        pytest.skip(reason)
    name = f"feedback_test_{os.getpid()}_{next(_numbers)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_TEMPLATE}"'))
    return _address(name)


def drop(address: str) -> None:
    """Drop a database `fresh_postgresql` made, whoever is still connected."""
    name = address.rsplit("/", 1)[1]
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def drop_template() -> None:
    """At the end of the session."""
    if not OFF and _unreachable.cache_info().currsize and _unreachable() is None:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)'))


def sqlite_file(location: Path | str) -> Path:
    """The SQLite file a test reads directly; skips on PostgreSQL, which keeps no file."""
    if not isinstance(location, Path):
        pytest.skip("about the SQLite file itself")
    return location
