"""Statements for both backends: one SQL text, run through SQLAlchemy on SQLite or PostgreSQL.

The stores write their SQL once, in the part of the language SQLite and PostgreSQL share,
with `?` for each value. SQLAlchemy turns each `?` into a bound parameter in the driver's
own style (aiosqlite's `?`, asyncpg's `$1`), so no value is ever spliced into the text.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import TextClause, text
from sqlalchemy.engine import CursorResult

Params = Sequence[object]
"""A statement's values, one for each `?`."""
Values = dict[str, object] | list[dict[str, object]]
"""The same, as SQLAlchemy takes them: named, once or for each run of an executemany."""

_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=1024)
def statement(sql: str) -> tuple[TextClause, int]:
    """The SQLAlchemy clause for SQL written with `?` placeholders, and how many it has.

    A colon in the SQL is escaped first, so that only our placeholders become parameters.
    Every `?` is one, even inside a quoted literal: the stores' SQL has none there.
    """
    escaped = sql.replace(":", r"\:")
    count = 0

    def name(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f":p{count}"

    return text(_PLACEHOLDER.sub(name, escaped)), count


def bind(count: int, params: Params) -> dict[str, object]:
    """Positional values as the named parameters `statement` made."""
    if len(params) != count:
        raise ValueError(f"the statement takes {count} values, {len(params)} given")
    return {f"p{number}": value for number, value in enumerate(params, start=1)}


def placeholders(count: int) -> str:
    """`?, ?, ?` for an IN list of `count` values (at least one)."""
    return ", ".join("?" * max(count, 1))


class Record:
    """One row, by position (`row[0]`) or by column name (`row["id"]`)."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: tuple[Any, ...], index: Mapping[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str | slice) -> Any:  # noqa: ANN401 - any SQL value
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._index)


def _plain(value: object) -> object:
    # PostgreSQL's sum() and avg() of integers are NUMERIC; the stores work in int and float.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def records(
    keys: Iterable[str], rows: Iterable[Sequence[Any]], *, plain_numbers: bool
) -> list[Record]:
    """Rows as `Record`s (PostgreSQL's NUMERIC sums as int or float, if asked)."""
    index = {key: number for number, key in enumerate(keys)}
    if plain_numbers:
        return [Record(tuple(_plain(v) for v in row), index) for row in rows]
    return [Record(tuple(row), index) for row in rows]


class Cursor:
    """A statement's outcome: its rows (all read already) and how many rows it changed."""

    def __init__(self, rows: list[Record], rowcount: int) -> None:
        self.rowcount = rowcount
        self._rows = rows
        self._next = 0

    @classmethod
    def of(cls, result: CursorResult[Any], *, plain_numbers: bool) -> Cursor:
        """Read a SQLAlchemy result (PostgreSQL's NUMERIC sums as int or float, if asked)."""
        if not result.returns_rows:
            return cls([], result.rowcount)
        return cls(
            records(result.keys(), result.all(), plain_numbers=plain_numbers), result.rowcount
        )

    async def fetchone(self) -> Record | None:
        """The next row, if any."""
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[Record]:
        """Every row not read yet."""
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    def __aiter__(self) -> AsyncIterator[Record]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Record]:
        while (row := await self.fetchone()) is not None:
            yield row


class Runner(Protocol):
    """Runs one statement (with values, or with many sets of values) and reads its outcome."""

    async def run(self, clause: TextClause, values: Values) -> Cursor:
        """The statement's outcome."""


class Execution:
    """`await conn.execute(...)` or `async with conn.execute(...) as cursor`."""

    def __init__(
        self, runner: Runner, sql: str, params: Params, many: Sequence[Params] | None = None
    ) -> None:
        self._runner = runner
        self._sql = sql
        self._params = params
        self._many = many

    async def _cursor(self) -> Cursor:
        clause, count = statement(self._sql)
        if self._many is None:
            return await self._runner.run(clause, bind(count, self._params))
        sets = [bind(count, values) for values in self._many]
        if not sets:  # SQLAlchemy would run it once without values
            return Cursor([], 0)
        return await self._runner.run(clause, sets)

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._cursor().__await__()

    async def __aenter__(self) -> Cursor:
        return await self._cursor()

    async def __aexit__(self, *_: object) -> None:
        return None


class Connection:
    """What the stores talk to: `execute` and `executemany`, in SQL with `?` placeholders."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    def execute(self, sql: str, params: Params = ()) -> Execution:
        """Run one statement."""
        return Execution(self._runner, sql, params)

    def executemany(self, sql: str, params: Sequence[Params]) -> Execution:
        """Run one statement once for each set of values."""
        return Execution(self._runner, sql, (), many=params)
