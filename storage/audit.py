"""The audit trail's entries: appended one after the other, each hash chained to the last."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from datetime import datetime

from sqlalchemy import func, insert, select

from bot.domain.audit import GENESIS, AuditEntry, StoredEntry, chained
from storage.database import AUDIT_LOCK, Database, from_db_time, to_db_time
from storage.schema import audit_entries
from storage.sql import StoredRow

_LAST_HASH = select(audit_entries.c.hash).order_by(audit_entries.c.id.desc()).limit(1)
_IN_ORDER = select(audit_entries).order_by(audit_entries.c.id)


def _stored(row: StoredRow) -> StoredEntry:
    return StoredEntry(
        number=row.id,
        entry=AuditEntry(from_db_time(row.at), row.actor, row.action, row.subject, row.detail),
        hash=row.hash,
    )


class SqliteAuditTrail:
    """The `AuditTrail` over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def append(self, entry: AuditEntry) -> str:
        """Add the entry after the last one; its hash."""
        async with self._db.transaction() as conn:
            if conn.dialect == "postgresql":  # SQLite writes one transaction at a time
                await conn.scalar(select(func.pg_advisory_xact_lock(*AUDIT_LOCK)))
            previous = await conn.scalar(_LAST_HASH) or GENESIS
            digest = chained(previous, entry)
            await conn.run(
                insert(audit_entries).values(
                    at=to_db_time(entry.at),
                    actor=entry.actor,
                    action=entry.action,
                    subject=entry.subject,
                    detail=entry.detail,
                    hash=digest,
                )
            )
        return digest

    async def entries(
        self, since: datetime | None = None, actor: str | None = None
    ) -> list[StoredEntry]:
        """Entries in the order they were added, from `since` on, by `actor` alone if given."""
        query = _IN_ORDER
        if since is not None:
            query = query.where(audit_entries.c.at >= to_db_time(since))
        if actor is not None:
            query = query.where(audit_entries.c.actor == actor)
        return [_stored(row) for row in await self._db.connection.rows(query)]

    async def chain(self) -> AsyncGenerator[StoredEntry]:
        """Every entry in order, a batch at a time (years of them, to verify)."""
        async with contextlib.aclosing(self._db.stream(_IN_ORDER)) as rows:
            async for row in rows:
                yield _stored(row)

    async def head(self) -> str:
        """The last entry's hash (GENESIS before any)."""
        return await self._db.connection.scalar(_LAST_HASH) or GENESIS
