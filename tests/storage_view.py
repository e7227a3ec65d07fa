"""Reading what the bot stored, through the storage package (never raw SQL in tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from bot.domain.models import Response
from storage.copy import row_counts
from storage.database import Database
from storage.inbox import SqliteInbox
from storage.reports import SqliteReportStore
from storage.responses import SqliteResponseStore
from storage.schema import metadata


async def stored_responses(db: Path | str) -> list[Response]:
    """Every response in the database, oldest first, read over a second connection."""
    database = await Database.open(db)
    try:
        return [r async for r in SqliteReportStore(database).iter_responses(None)]
    finally:
        await database.close()


async def is_patient(db: Path | str, external_id: int) -> bool:
    """Whether the database has a patient for this Telegram user."""
    database = await Database.open(db)
    try:
        return await SqliteResponseStore(database).get_patient(external_id) is not None
    finally:
        await database.close()


async def handled_everything(db: Path | str) -> None:
    """Wait until every update stored has been handled (its copy leaves the inbox)."""
    database = await Database.open(db)
    try:
        inbox = SqliteInbox(database)
        for _ in range(200):
            if not await inbox.unhandled():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("updates stayed unhandled")
    finally:
        await database.close()


async def rows_in(db: Path | str, *tables: str) -> dict[str, int]:
    """How many rows these tables hold."""
    database = await Database.open(db)
    try:
        counts = await row_counts(database)
    finally:
        await database.close()
    return {table: counts[table] for table in tables}


async def rows_of(db: Path | str, table: str) -> list[dict[str, object]]:
    """Every row of a table, as column → value (the schema's own table, no SQL text)."""
    database = await Database.open(db)
    try:
        rows = await database.connection.rows(select(metadata.tables[table]))
    finally:
        await database.close()
    return [dict(row._mapping) for row in rows]
