"""Statements for both backends: SQLAlchemy Core, run on SQLite or PostgreSQL.

The stores build their statements from the tables in `storage.schema`; SQLAlchemy renders
each for the database at hand and binds every value, so no value is ever spliced into SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from sqlalchemy import Executable, Row, RowMapping, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult

_T = TypeVar("_T")

StoredRow = Row[*tuple[Any, ...]]
"""A row of any columns, by name (`row.pseudonym`) or by position (`row[0]`)."""

Columns = RowMapping
"""A row's values by column name: `row._mapping`, which the stores' row mappers read (it is
several times faster than a row's attributes, and the export reads millions)."""

Values = Mapping[str, object] | list[Mapping[str, object]]
"""A Core statement's bound values: once, or a list for one run each (an executemany)."""


def dialect_insert(dialect: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT in the dialect's own form, which knows ON CONFLICT."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _all_rows(result: CursorResult[Any]) -> list[StoredRow]:
    return list(result.all())


def _first_row(result: CursorResult[Any]) -> StoredRow | None:
    return result.first()


def _first_value(result: CursorResult[Any]) -> object:
    return result.scalar()


def _rows_changed(result: CursorResult[Any]) -> int:
    return result.rowcount


class Runner(Protocol):
    """Runs one statement (with values, or with many sets of values) and reads its outcome."""

    async def run(
        self,
        statement: Executable,
        values: Values | None,
        outcome: Callable[[CursorResult[Any]], _T],
    ) -> _T:
        """Run a Core statement and read what `outcome` reads of it, on the same connection."""


class Connection:
    """What the stores talk to: SQLAlchemy Core statements, their rows and their counts.

    Every row is read before the call returns, on the connection the statement ran on (a
    read on PostgreSQL borrows one from the pool only for that long). Long reads go through
    `Database.stream` instead.
    """

    def __init__(self, runner: Runner, dialect: str) -> None:
        self._runner = runner
        self.dialect = dialect

    async def rows(self, statement: Executable, values: Values | None = None) -> list[StoredRow]:
        """Every row the statement returns."""
        return await self._runner.run(statement, values, _all_rows)

    async def first(self, statement: Executable, values: Values | None = None) -> StoredRow | None:
        """The statement's first row, if it returns any."""
        return await self._runner.run(statement, values, _first_row)

    async def scalar(self, statement: Executable, values: Values | None = None) -> Any:  # noqa: ANN401 - a column of any type
        """The first column of the first row (None if there is no row)."""
        return await self._runner.run(statement, values, _first_value)

    async def run(self, statement: Executable, values: Values | None = None) -> int:
        """Run a change (for each set of values, if a list is given); how many rows it changed."""
        if isinstance(values, list) and not values:  # SQLAlchemy would run it once, bare
            return 0
        return await self._runner.run(statement, values, _rows_changed)

    def insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """An INSERT in this database's dialect, which knows ON CONFLICT."""
        return dialect_insert(self.dialect, table)
