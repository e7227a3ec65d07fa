"""Visits a booking system announced, each event once, with the invitation it made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select

from bot.domain.intake import Delivery, RecordedVisit, VisitEventRecord
from bot.domain.models import Invitation
from storage.database import Database, from_db_time, to_db_time
from storage.responses import invitation_row, row_to_invitation
from storage.schema import visit_events, visits
from storage.sql import Connection


class _RecordedMeanwhileError(Exception):
    """Another worker recorded the same event while this one was about to."""


class SqliteVisitEvents:
    """The `VisitEvents` port over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def record_visit(
        self, source: str, event_id: str, invitation: Invitation, delivery: Delivery, now: datetime
    ) -> RecordedVisit:
        """Store the invitation and the event together, unless the event came before.

        The same event again, even at the same moment from another worker, answers with
        the invitation the first made, and stores nothing.
        """
        try:
            async with self._db.transaction() as conn:
                earlier = await _recorded(conn, source, event_id)
                if earlier is not None:
                    return earlier
                visit_id = await conn.scalar(
                    insert(visits).values(invitation_row(invitation)).returning(visits.c.id)
                )
                stored = await conn.run(
                    conn.insert(visit_events)
                    .values(
                        source=source,
                        event_id=event_id,
                        received_at=to_db_time(now),
                        visit_id=visit_id,
                        delivery=delivery.value,
                    )
                    .on_conflict_do_nothing()
                )
                # 0: PostgreSQL waited for the other worker's commit; this invitation goes.
                _undone_unless(stored)
        except _RecordedMeanwhileError:
            earlier = await _recorded(self._db.connection, source, event_id)
            if earlier is None:  # pragma: no cover - the other worker's row is committed
                raise RuntimeError("a visit event vanished after it was recorded") from None
            return earlier
        return RecordedVisit(invitation, delivery, repeated=False)

    async def recent(self, limit: int) -> tuple[int, list[VisitEventRecord]]:
        """How many events were received in all, and the latest `limit`, newest first."""
        received = await self._db.connection.scalar(select(func.count()).select_from(visit_events))
        rows = await self._db.connection.rows(
            select(visits, visit_events)
            .join(visit_events, visit_events.c.visit_id == visits.c.id)
            .order_by(visit_events.c.received_at.desc(), visit_events.c.event_id)
            .limit(limit)
        )
        return int(received or 0), [
            VisitEventRecord(
                source=row.source,
                event_id=row.event_id,
                received_at=from_db_time(row.received_at),
                invitation=row_to_invitation(row._mapping),
                delivery=Delivery(row.delivery),
            )
            for row in rows
        ]


def _undone_unless(stored: int) -> None:
    """Roll the transaction back (by raising) if the event's row was not stored."""
    if stored == 0:
        raise _RecordedMeanwhileError


async def _recorded(conn: Connection, source: str, event_id: str) -> RecordedVisit | None:
    row = await conn.first(
        select(visits, visit_events.c.delivery)
        .join(visit_events, visit_events.c.visit_id == visits.c.id)
        .where(visit_events.c.source == source, visit_events.c.event_id == event_id)
    )
    if row is None:
        return None
    return RecordedVisit(row_to_invitation(row._mapping), Delivery(row.delivery), repeated=True)
