"""Updates stored as they arrive, until they are handled (the `Inbox` port)."""

from __future__ import annotations

from datetime import datetime

from storage.database import Database, to_db_time


class SqliteInbox:
    """The durable inbox over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def keep(self, updates: list[tuple[int, str]], now: datetime) -> None:
        """Store a batch of updates (id, JSON body) in one transaction."""
        async with self._db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO inbox (update_id, received_at, body) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [(update_id, to_db_time(now), body) for update_id, body in updates],
            )

    async def forget_handled(self) -> None:
        """Drop stored copies of updates that were handled (a crash can leave some)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM inbox WHERE update_id IN (SELECT event_key FROM handled_events)"
            )

    async def unhandled(self, received_before: datetime | None = None) -> list[str]:
        """Bodies of stored updates not yet handled (received before a time), oldest first."""
        before = None if received_before is None else to_db_time(received_before)
        async with self._db.connection.execute(
            "SELECT body FROM inbox WHERE update_id NOT IN"
            " (SELECT event_key FROM handled_events)"
            " AND (CAST(? AS TEXT) IS NULL OR received_at < ?) ORDER BY update_id",
            (before, before),
        ) as cursor:
            return [row["body"] for row in await cursor.fetchall()]

    async def last_update_id(self) -> int | None:
        """The newest update stored, if any."""
        async with self._db.connection.execute("SELECT max(update_id) FROM inbox") as cursor:
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])
