"""Visits a booking system announced, each event once, with the invitation it made."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, insert, select, update

from bot.domain.intake import (
    Delivery,
    DeliveryPlan,
    LinkedPatient,
    MailStatus,
    RecordedVisit,
    VisitEvent,
    VisitEventRecord,
)
from bot.domain.models import Invitation
from storage.database import Database, from_db_time, to_db_time
from storage.responses import invitation_row, row_to_invitation
from storage.schema import (
    followups,
    invitation_mail,
    patient_links,
    patients,
    visit_events,
    visits,
)
from storage.sql import Connection

# A visit survey in Telegram can be answered for as long as its invitation could, and a day
# at least (an invitation shorter than the delay after the visit would expire unsent).
_LEAST_TO_ANSWER = timedelta(days=1)


class _RecordedMeanwhileError(Exception):
    """Another worker recorded the same event while this one was about to."""


class SqliteVisitEvents:
    """The `VisitEvents` port over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def record_visit(
        self,
        source: str,
        event: VisitEvent,
        invitation: Invitation,
        plan: DeliveryPlan,
        now: datetime,
    ) -> RecordedVisit:
        """Store the invitation, the event and the survey or e-mail it owes, together.

        The same event again, even at the same moment from another worker, answers with
        the invitation the first made, and stores nothing.
        """
        try:
            async with self._db.transaction() as conn:
                earlier = await _recorded(conn, source, event.event_id)
                if earlier is not None:
                    return earlier
                visit_id = await conn.scalar(
                    insert(visits).values(invitation_row(invitation)).returning(visits.c.id)
                )
                stored = await conn.run(
                    conn.insert(visit_events)
                    .values(
                        source=source,
                        event_id=event.event_id,
                        received_at=to_db_time(now),
                        visit_id=visit_id,
                        delivery=plan.delivery.value,
                        patient_ref=event.patient.id,
                    )
                    .on_conflict_do_nothing()
                )
                # 0: PostgreSQL waited for the other worker's commit; this invitation goes.
                _undone_unless(stored)
                await _owe(
                    conn,
                    plan,
                    invitation,
                    visit_id=visit_id,
                    link=(source, event.patient.id),
                    now=now,
                )
        except _RecordedMeanwhileError:
            earlier = await _recorded(self._db.connection, source, event.event_id)
            if earlier is None:  # pragma: no cover - the other worker's row is committed
                raise RuntimeError("a visit event vanished after it was recorded") from None
            return earlier
        return RecordedVisit(invitation, plan.delivery, repeated=False)

    async def linked_patient(self, source: str, patient_ref: str) -> LinkedPatient | None:
        """The linked patient, and whether neither /stop nor a block stands in the way."""
        row = await self._db.connection.first(
            select(patients.c.id, patients.c.followups_stopped_at, patients.c.blocked_at)
            .join(patient_links, patient_links.c.patient_id == patients.c.id)
            .where(patient_links.c.source == source, patient_links.c.patient_ref == patient_ref)
        )
        if row is None:
            return None
        reachable = row.followups_stopped_at is None and row.blocked_at is None
        return LinkedPatient(patient_id=int(row.id), reachable=reachable)

    async def asked_since(self, source: str, patient_ref: str, since: datetime) -> bool:
        """Whether a visit of theirs announced since then was sent by Telegram or e-mail."""
        asked = await self._db.connection.scalar(
            select(
                exists().where(
                    visit_events.c.source == source,
                    visit_events.c.patient_ref == patient_ref,
                    visit_events.c.received_at >= to_db_time(since),
                    visit_events.c.delivery.in_((Delivery.TELEGRAM, Delivery.EMAIL)),
                )
            )
        )
        return bool(asked)

    async def recent(self, limit: int) -> tuple[int, list[VisitEventRecord]]:
        """How many events were received in all, and the latest `limit`, newest first."""
        received = await self._db.connection.scalar(select(func.count()).select_from(visit_events))
        rows = await self._db.connection.rows(
            select(visits, visit_events, invitation_mail.c.status, invitation_mail.c.outcome)
            .join(visit_events, visit_events.c.visit_id == visits.c.id)
            .outerjoin(invitation_mail, invitation_mail.c.visit_id == visits.c.id)
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
                mail=None if row.status is None else MailStatus(row.status),
                mail_outcome=row.outcome,
            )
            for row in rows
        ]


async def _owe(  # noqa: PLR0913 - what the new event owes, all of it stored with it
    conn: Connection,
    plan: DeliveryPlan,
    invitation: Invitation,
    *,
    visit_id: int,
    link: tuple[str, str],
    now: datetime,
) -> None:
    """Schedule the Telegram survey and the e-mail the plan asks for."""
    due = to_db_time(plan.due_at)
    if plan.ask_in_telegram is not None:
        expires = max(invitation.expires_at, plan.due_at + _LEAST_TO_ANSWER)
        await conn.run(
            insert(followups).values(
                patient_id=plan.ask_in_telegram,
                survey_id=invitation.survey_id,
                visit_id=visit_id,
                due_at=due,
                expires_at=to_db_time(expires),
                status="scheduled",
            )
        )
        # A patient who keeps coming back stays linked for the retention period after.
        await conn.run(
            update(patient_links)
            .where(patient_links.c.source == link[0], patient_links.c.patient_ref == link[1])
            .values(linked_at=to_db_time(now))
        )
    if plan.mail is not None:
        await conn.run(
            insert(invitation_mail).values(
                visit_id=visit_id,
                address=plan.mail.address,
                first_name=plan.mail.first_name,
                language=plan.mail.language,
                status="held" if plan.mail.held else "due",
                due_at=due,
            )
        )


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
