"""The schema is declared once (storage/schema.py), and the migrations build exactly that.

Alembic's `compare_metadata` reads a freshly migrated database and lists every difference
from the metadata: tables, columns, types, nullability, server defaults, indexes, unique
constraints and foreign keys (CHECK constraints it does not compare).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Identity, create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.database import Database, postgresql_url
from storage.schema import POSTGRESQL_ONLY, SQLITE_ONLY_TABLES, metadata

Difference = tuple[Any, ...]  # ("remove_column", schema, table, column), ("add_index", ...)


def differences(
    location: Path | str, before: Callable[[Connection], None] = lambda _: None
) -> list[Difference]:
    """What a migrated database has that the metadata has not, and the other way round."""

    async def migrate() -> None:
        database = await Database.open(location)
        await database.close()

    asyncio.run(migrate())
    if isinstance(location, Path):
        engine = create_engine(f"sqlite:///{location}")
        with engine.connect() as connection:
            before(connection)
            found = _compare(connection, "sqlite")
        engine.dispose()
        return _without_sqlite_reflection_gaps(found, location)

    async def compare() -> list[Difference]:
        engine = create_async_engine(postgresql_url(location))
        try:
            async with engine.connect() as connection:
                await connection.run_sync(before)
                return await connection.run_sync(lambda sync: _compare(sync, "postgresql"))
        finally:
            await engine.dispose()

    return asyncio.run(compare())


def _compare(connection: Connection, dialect: str) -> list[Difference]:
    def include(item: Any, name: str | None, kind: str, reflected: bool, _: Any) -> bool:
        if kind == "table" and name == "alembic_version":
            return False  # Alembic's own bookkeeping
        if dialect == "postgresql":
            return True
        # SQLite's search is an FTS5 table; PostgreSQL's a trigram index (COMMENT_SEARCH).
        if kind == "table" and reflected and name in SQLITE_ONLY_TABLES:
            return False
        # responses.seq is PostgreSQL's: SQLite keeps the same order as the rowid.
        return not (
            kind in ("column", "index") and not reflected and item.info.get(POSTGRESQL_ONLY)
        )

    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "compare_server_default": True, "include_object": include},
    )
    # One entry a change (Alembic groups the changes of one column in a list).
    found = compare_metadata(context, metadata)
    return [
        change for entry in found for change in (entry if isinstance(entry, list) else [entry])
    ]


def _without_sqlite_reflection_gaps(found: list[Difference], db: Path) -> list[Difference]:
    """Drop what SQLite cannot report, after checking the same facts another way.

    - An `INTEGER PRIMARY KEY` is SQLite's rowid: numbered by the database (the metadata's
      Identity, which SQLite has no word for) and never NULL, though it reads back nullable.
      A primary key of another type (responses.id, TEXT) reads back nullable too, and by
      SQLite's old quirk would take a NULL; the stores always write one (a known gap,
      left: closing it means rebuilding the table that every other table refers to).
    - SQLAlchemy does not read ON DELETE back from SQLite: `PRAGMA foreign_key_list` does,
      and every foreign key of the metadata must be there, with its ON DELETE.
    """
    kept = [
        change
        for change in found
        if change[0] not in ("add_fk", "remove_fk") and not _rowid_artifact(change)
    ]
    with sqlite3.connect(db) as connection:
        for table in metadata.sorted_tables:
            listed = {
                (row[2], row[3], row[4], row[6])
                for row in connection.execute(f"PRAGMA foreign_key_list({table.name})")
            }
            declared = {
                (fk.column.table.name, fk.parent.name, fk.column.name, fk.ondelete or "NO ACTION")
                for fk in table.foreign_keys
            }
            if listed != declared:
                kept.append(("foreign keys differ", table.name, sorted(listed), sorted(declared)))
    connection.close()
    return kept


def _rowid_artifact(change: tuple[Any, ...]) -> bool:
    if change[0] not in ("modify_default", "modify_nullable"):
        return False
    kind, _, table, column = change[:4]
    key = bool(metadata.tables[table].columns[column].primary_key)
    if kind == "modify_default":
        return key and isinstance(change[-1], Identity)
    return key


def test_a_migrated_database_has_exactly_the_schema_declared_once(
    database_location: Path | str,
) -> None:
    assert differences(database_location) == []


def test_the_comparison_finds_a_column_the_schema_does_not_declare(
    database_location: Path | str,
) -> None:
    def add_column(connection: Connection) -> None:
        connection.execute(text("ALTER TABLE visits ADD COLUMN notes TEXT"))
        connection.commit()

    found = differences(database_location, add_column)
    assert [(change[0], change[2]) for change in found] == [("remove_column", "visits")]
