"""Moving a clinic's data from its SQLite file into an empty PostgreSQL database."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, Table, false, func, insert, literal_column, select, text
from sqlalchemy.dialects import sqlite

from storage import cipher
from storage.database import Database
from storage.schema import metadata
from storage.sql import Connection

# Every table, parents before the tables that refer to them: from the schema, so a new
# table cannot be left behind by a copy.
TABLES = tuple(table.name for table in metadata.sorted_tables)
# Tables whose integer ids the target numbers from: its counters start after the copied ids.
_NUMBERED = tuple(
    table
    for table in metadata.sorted_tables
    if "id" in table.columns and table.columns["id"].identity is not None
)
_SQLITE = sqlite.dialect()
# Rows read and written at a time: a large clinic's answers are not held in memory at once.
BATCH = 5_000


class TargetNotEmptyError(Exception):
    """The target database already holds a clinic's data; nothing was copied."""

    def __init__(self, counts: dict[str, int]) -> None:
        held = ", ".join(f"{count} {table}" for table, count in counts.items() if count)
        super().__init__(f"the target database is not empty ({held})")
        self.counts = counts


class CopyMismatchError(Exception):
    """The copy does not hold what the source holds; the copy was undone."""


@dataclass(frozen=True, slots=True)
class CopyReport:
    """How many rows of each table were copied (and found again in the target)."""

    rows: dict[str, int]


async def row_counts(database: Database) -> dict[str, int]:
    """Rows per table."""
    return await _counted(database.connection)


def _count(table: Table) -> Select[int]:
    return select(func.count()).select_from(table)


def _source_sql(statement: Select[Any]) -> str:
    """A statement without values as SQLite's text, for the source file's own connection."""
    return str(statement.compile(dialect=_SQLITE))


async def _counted(conn: Connection) -> dict[str, int]:
    return {
        table.name: int(await conn.scalar(_count(table)) or 0) for table in metadata.sorted_tables
    }


async def copy_database(source: Path, target: Database, *, key: str | None = None) -> CopyReport:
    """Copy every row of the SQLite file `source` into the empty `target`, in one transaction.

    The source is read as one snapshot, a batch at a time. Raises `TargetNotEmptyError`
    (copying nothing) if the target holds any row, and `CopyMismatchError` (keeping nothing)
    if the target's counts differ from the source's at the end.
    """
    existing = await row_counts(target)
    if any(existing.values()):
        raise TargetNotEmptyError(existing)
    with closing(cipher.connector(key)(source, check_same_thread=False)) as reader:
        # One read transaction: the bot may keep writing, the copy sees one moment.
        reader.execute("BEGIN")
        expected = {
            table.name: int(reader.execute(_source_sql(_count(table))).fetchone()[0])
            for table in metadata.sorted_tables
        }
        async with target.transaction() as conn:
            for table in metadata.sorted_tables:
                await _copy_table(reader, conn, table)
            if target.postgresql:
                for table in _NUMBERED:
                    # Rows came with their ids: the next id must come after them.
                    last = select(func.max(table.c.id)).scalar_subquery()
                    await conn.scalar(
                        select(
                            func.setval(
                                func.pg_get_serial_sequence(table.name, "id"),
                                func.coalesce(last, 0) + 1,
                                false(),
                            )
                        )
                    )
            copied = await _counted(conn)
            if copied != expected:
                differ = [
                    f"{t} {expected[t]} -> {copied[t]}" for t in TABLES if copied[t] != expected[t]
                ]
                raise CopyMismatchError("rows differ after the copy: " + "; ".join(differ))
    if target.postgresql:
        # Fresh statistics, so that the first summaries are planned for the data copied.
        async with target.transaction() as conn:
            await conn.run(text("ANALYZE"))
    return CopyReport(copied)


async def _copy_table(reader: sqlite3.Connection, conn: Connection, table: Table) -> None:
    query = select(*(table.c[name] for name in _source_columns(reader, table)))
    if table.dialect_options["sqlite"]["with_rowid"] is not False:
        # In the order they were stored: PostgreSQL numbers responses in that order (`seq`).
        query = query.order_by(literal_column("rowid"))
    rows = reader.execute(_source_sql(query))
    columns = [description[0] for description in rows.description]
    while batch := await asyncio.to_thread(rows.fetchmany, BATCH):
        await conn.run(insert(table), [dict(zip(columns, row, strict=True)) for row in batch])


def _source_columns(reader: sqlite3.Connection, table: Table) -> list[str]:
    """The table's columns the SQLite file has (PostgreSQL numbers `responses.seq` itself)."""
    present = {
        row[1] for row in reader.execute("SELECT * FROM pragma_table_info(?)", (table.name,))
    }
    return [column.name for column in table.columns if column.name in present]
