"""Moving a clinic's data from its SQLite file into an empty PostgreSQL database."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from storage.database import Database
from storage.schema import metadata
from storage.sql import Connection, placeholders

# Every table, parents before the tables that refer to them: from the schema, so a new
# table cannot be left behind by a copy.
TABLES = tuple(table.name for table in metadata.sorted_tables)
# Tables whose integer ids the target numbers from: its counters start after the copied ids.
_NUMBERED = tuple(
    table.name
    for table in metadata.sorted_tables
    if "id" in table.columns and table.columns["id"].identity is not None
)
# Tables with a rowid (not WITHOUT ROWID): read in the order they were written.
_ROWID = frozenset(
    table.name
    for table in metadata.sorted_tables
    if table.dialect_options["sqlite"]["with_rowid"] is not False
)
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


async def _counted(conn: Connection) -> dict[str, int]:
    counts = {}
    for table in TABLES:
        async with conn.execute(f"SELECT count(*) FROM {table}") as cursor:  # noqa: S608 - names from TABLES
            row = await cursor.fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


async def copy_database(source: Path, target: Database) -> CopyReport:
    """Copy every row of the SQLite file `source` into the empty `target`, in one transaction.

    The source is read as one snapshot, a batch at a time. Raises `TargetNotEmptyError`
    (copying nothing) if the target holds any row, and `CopyMismatchError` (keeping nothing)
    if the target's counts differ from the source's at the end.
    """
    existing = await row_counts(target)
    if any(existing.values()):
        raise TargetNotEmptyError(existing)
    with closing(sqlite3.connect(source, check_same_thread=False)) as reader:
        # One read transaction: the bot may keep writing, the copy sees one moment.
        reader.execute("BEGIN")
        expected = {
            table: int(reader.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - names from TABLES
            for table in TABLES
        }
        async with target.transaction() as conn:
            for table in TABLES:
                await _copy_table(reader, conn, table)
            if target.postgresql:
                for table in _NUMBERED:
                    # Rows came with their ids: the next id must come after them.
                    await conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608 - names from _NUMBERED
                        f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
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
            await conn.execute("ANALYZE")
    return CopyReport(copied)


async def _copy_table(reader: sqlite3.Connection, conn: Connection, table: str) -> None:
    # In the order they were stored: PostgreSQL numbers responses in that order (`seq`).
    order = " ORDER BY rowid" if table in _ROWID else ""
    rows = reader.execute(f"SELECT * FROM {table}{order}")  # noqa: S608 - names from TABLES
    columns = [description[0] for description in rows.description]
    insert = (
        f"INSERT INTO {table} ({', '.join(columns)})"  # noqa: S608 - names from the schema
        f" VALUES ({placeholders(len(columns))})"
    )
    while batch := await asyncio.to_thread(rows.fetchmany, BATCH):
        await conn.executemany(insert, batch)
