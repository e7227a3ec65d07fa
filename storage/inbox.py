"""Updates stored as they arrive, until they are handled (the `Inbox` port)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

from storage.database import Database, to_db_time
from storage.schema import handled_events, inbox


class SqliteInbox:
    """The durable inbox over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def keep(self, updates: list[tuple[int, str]], now: datetime) -> None:
        """Store a batch of updates (id, JSON body) in one transaction."""
        received = to_db_time(now)
        async with self._db.transaction() as conn:
            await conn.run(
                conn.insert(inbox).on_conflict_do_nothing(),
                [
                    {"update_id": update_id, "received_at": received, "body": body}
                    for update_id, body in updates
                ],
            )

    async def forget_handled(self) -> None:
        """Drop stored copies of updates that were handled (a crash can leave some)."""
        async with self._db.transaction() as conn:
            await conn.run(
                delete(inbox).where(inbox.c.update_id.in_(select(handled_events.c.event_key)))
            )

    async def unhandled(self, received_before: datetime | None = None) -> list[str]:
        """Bodies of stored updates not yet handled (received before a time), oldest first."""
        query = (
            select(inbox.c.body)
            .where(inbox.c.update_id.not_in(select(handled_events.c.event_key)))
            .order_by(inbox.c.update_id)
        )
        if received_before is not None:
            query = query.where(inbox.c.received_at < to_db_time(received_before))
        return [row.body for row in await self._db.connection.rows(query)]

    async def last_update_id(self) -> int | None:
        """The newest update stored, if any."""
        newest = await self._db.connection.scalar(select(func.max(inbox.c.update_id)))
        return None if newest is None else int(newest)
