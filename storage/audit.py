"""The audit trail's entries: appended one after the other, each hash chained to the last."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select, update

from bot.domain.audit import GENESIS, Anchor, AuditEntry, AuditHead, StoredEntry, chained
from storage.database import AUDIT_LOCK, Database, from_db_time, to_db_time
from storage.schema import audit_anchor, audit_entries, audit_heads
from storage.sql import Connection, StoredRow

_LAST_ENTRY = (
    select(audit_entries.c.id, audit_entries.c.hash).order_by(audit_entries.c.id.desc()).limit(1)
)
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
        async with self._changing() as conn:
            last = await conn.first(_LAST_ENTRY)
            previous = GENESIS if last is None else last.hash
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
        last = await self._db.connection.first(_LAST_ENTRY)
        return GENESIS if last is None else str(last.hash)

    @asynccontextmanager
    async def _changing(self) -> AsyncIterator[Connection]:
        """A transaction that reads the trail's end and writes after it, one at a time.

        On PostgreSQL under an advisory lock across workers; SQLite writes one transaction
        at a time already.
        """
        async with self._db.transaction() as conn:
            if conn.dialect == "postgresql":
                await conn.scalar(select(func.pg_advisory_xact_lock(*AUDIT_LOCK)))
            yield conn

    async def anchor(self) -> Anchor | None:
        """The last entry retention removed, if it removed any."""
        row = await self._db.connection.first(select(audit_anchor))
        return None if row is None else Anchor(row.number, row.hash)

    async def remove_before(self, cutoff: datetime) -> int:
        """Remove the entries older than `cutoff`, anchoring the rest; how many went."""
        async with self._changing() as conn:
            old = audit_entries.c.at < to_db_time(cutoff)
            last = await conn.first(_LAST_ENTRY.where(old))
            if last is None:
                return 0
            removed = await conn.run(delete(audit_entries).where(audit_entries.c.id <= last.id))
            await conn.run(
                conn.insert(audit_anchor)
                .values(id=1, number=last.id, hash=last.hash)
                .on_conflict_do_update(
                    index_elements=[audit_anchor.c.id],
                    set_={"number": last.id, "hash": last.hash},
                )
            )
            return removed

    async def owe_head(self, day: date, now: datetime) -> AuditHead | None:
        """Owe the staff chat today's head, unless owed already or unchanged since last."""
        async with self._changing() as conn:
            last = await conn.first(_LAST_ENTRY)
            if last is None:
                return None
            posted = await conn.first(
                select(audit_heads.c.day, audit_heads.c.number)
                .order_by(audit_heads.c.day.desc())
                .limit(1)
            )
            if posted is not None and (posted.day >= day.isoformat() or posted.number == last.id):
                return None
            head = AuditHead(day, last.id, last.hash)
            await conn.run(
                insert(audit_heads).values(
                    day=day.isoformat(),
                    number=head.number,
                    hash=head.hash,
                    next_attempt_at=to_db_time(now),
                )
            )
            return head

    async def owed_heads(self, due_by: datetime | None) -> list[AuditHead]:
        """Heads not yet posted (whose next attempt is due by `due_by`, if given)."""
        query = select(audit_heads).where(audit_heads.c.posted_at.is_(None))
        if due_by is not None:
            query = query.where(audit_heads.c.next_attempt_at <= to_db_time(due_by))
        rows = await self._db.connection.rows(query.order_by(audit_heads.c.day))
        return [
            AuditHead(date.fromisoformat(row.day), row.number, row.hash, row.failed_attempts)
            for row in rows
        ]

    async def head_posted(self, day: date, now: datetime) -> None:
        """The day's head arrived in the staff chat."""
        await self._update_head(day, posted_at=to_db_time(now))

    async def postpone_head(self, day: date, until: datetime, failed_attempts: int) -> None:
        """Try the day's head again at `until`."""
        await self._update_head(
            day, next_attempt_at=to_db_time(until), failed_attempts=failed_attempts
        )

    async def _update_head(self, day: date, **values: object) -> None:
        async with self._db.transaction() as conn:
            await conn.run(
                update(audit_heads).where(audit_heads.c.day == day.isoformat()).values(**values)
            )
