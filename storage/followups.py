"""Follow-ups in SQLite: what is due, claiming one for sending, and what happened to it.

Delivery is at most once: a follow-up is claimed (its response created, status `sending`)
before the message goes out, and a claim left behind by a crash counts as sent. If that
message never arrived, the reminder asks the same question again.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Executable,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from bot.domain.models import Followup, FollowupStatus
from storage.database import Database, from_db_time, to_db_time
from storage.responses import row_to_visit
from storage.schema import answers, followups, invitation_mail, patients, responses, visits
from storage.sql import Columns, Connection
from storage.totals import count_response, next_day, refresh_days

_LISTED = select(
    followups,
    patients.c.pseudonym,
    patients.c.external_id,
    patients.c.language,
    visits.c.treatment,
    visits.c.provider,
    visits.c.location,
    visits.c.visit_date,
).select_from(
    followups.join(patients, patients.c.id == followups.c.patient_id).outerjoin(
        visits, visits.c.id == followups.c.visit_id
    )
)
"""Follow-ups with what sending one needs; callers add WHERE, ORDER BY and LIMIT."""
_OPEN = ("scheduled", "sending", "sent", "reminded")


def _sendable(gap_start: datetime) -> ColumnElement[bool]:
    """A patient who may get a follow-up message now.

    Reachable, not stopped, and sent none since `gap_start` (the weekly cap).
    """
    return and_(
        patients.c.followups_stopped_at.is_(None),
        patients.c.blocked_at.is_(None),
        or_(
            patients.c.last_followup_at.is_(None),
            patients.c.last_followup_at <= to_db_time(gap_start),
        ),
    )


def _visit_surveys(which: ColumnElement[bool]) -> ColumnElement[bool]:
    """E-mails held back for the visit surveys (follow-ups of no response) `which` picks."""
    return and_(
        invitation_mail.c.status == "held",
        invitation_mail.c.visit_id.in_(
            select(followups.c.visit_id).where(which, followups.c.source_response_id.is_(None))
        ),
    )


def _mail_instead(which: ColumnElement[bool], now: datetime) -> Executable:
    """The patient cannot be asked in Telegram: the held e-mails go out now."""
    return (
        update(invitation_mail)
        .where(_visit_surveys(which))
        .values(status="due", due_at=to_db_time(now))
    )


def _row_to_followup(row: Columns) -> Followup:
    def moment(stored: str | None) -> datetime | None:
        return from_db_time(stored) if stored else None

    return Followup(
        id=row["id"],
        patient_id=row["patient_id"],
        patient_pseudonym=row["pseudonym"],
        recipient=row["external_id"],
        language=row["language"],
        survey_id=row["survey_id"],
        visit=row_to_visit(row),
        due_at=from_db_time(row["due_at"]),
        expires_at=from_db_time(row["expires_at"]),
        status=FollowupStatus(row["status"]),
        response_id=row["response_id"],
        sent_at=moment(row["sent_at"]),
        reminded_at=moment(row["reminded_at"]),
        attempts=row["attempts"],
        after_visit=row["source_response_id"] is None,
    )


async def _answered_by_link(conn: Connection, followup: Followup) -> bool:
    """A visit survey whose patient opened the visit's link meanwhile: nothing to send."""
    if not followup.after_visit:
        return False
    answered = await conn.scalar(
        select(exists().where(responses.c.visit_id == followups.c.visit_id)).where(
            followups.c.id == followup.id
        )
    )
    if not answered:
        return False
    await conn.run(
        update(followups)
        .where(followups.c.id == followup.id, followups.c.status == "scheduled")
        .values(status="answered")
    )
    await conn.run(delete(invitation_mail).where(_visit_surveys(followups.c.id == followup.id)))
    return True


class SqliteFollowupStore:
    """The `FollowupStore` over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def due(self, now: datetime, gap_start: datetime, limit: int) -> list[Followup]:
        """Scheduled follow-ups that may be sent now, oldest due first."""
        at = to_db_time(now)
        query = (
            _LISTED.where(
                followups.c.status == "scheduled",
                followups.c.due_at <= at,
                followups.c.expires_at > at,
                or_(followups.c.retry_at.is_(None), followups.c.retry_at <= at),
                _sendable(gap_start),
            )
            .order_by(followups.c.due_at, followups.c.id)
            .limit(limit)
        )
        return [_row_to_followup(row._mapping) for row in await self._db.connection.rows(query)]

    async def reminders_due(
        self, sent_before: datetime, gap_start: datetime, limit: int
    ) -> list[Followup]:
        """Sent follow-ups still unanswered since `sent_before`, not yet reminded."""
        query = (
            _LISTED.join(responses, responses.c.id == followups.c.response_id)
            .where(
                followups.c.status == "sent",
                followups.c.sent_at <= to_db_time(sent_before),
                responses.c.status == "in_progress",
                _sendable(gap_start),
            )
            .order_by(followups.c.sent_at, followups.c.id)
            .limit(limit)
        )
        return [_row_to_followup(row._mapping) for row in await self._db.connection.rows(query)]

    async def claim(self, followup: Followup, response_id: str, now: datetime) -> bool:
        """Start the follow-up's response; `False` if the patient is in another survey.

        A patient has at most one response open, so two follow-ups can never be in flight
        to the same patient at once.
        """
        async with self._db.transaction() as conn:
            # Checked inside the write transaction, so no survey can start in between.
            busy = await conn.first(
                select(responses.c.id).where(
                    responses.c.patient_id == followup.patient_id,
                    responses.c.status == "in_progress",
                )
            )
            if busy is not None:
                return False
            if await _answered_by_link(conn, followup):
                return False
            claimed = await conn.run(
                update(followups)
                .where(followups.c.id == followup.id, followups.c.status == "scheduled")
                .values(
                    status="sending", response_id=response_id, attempts=followups.c.attempts + 1
                )
            )
            if claimed == 0:
                return False
            if followup.after_visit:
                # The visit's link is this patient's now: nobody else can open it meanwhile.
                await conn.run(
                    update(visits)
                    .where(
                        visits.c.id
                        == select(followups.c.visit_id)
                        .where(followups.c.id == followup.id)
                        .scalar_subquery(),
                        visits.c.patient_id.is_(None),
                    )
                    .values(patient_id=followup.patient_id)
                )
            await conn.run(
                insert(responses).from_select(
                    ["id", "patient_id", "survey_id", "status", "started_at", "visit_id"],
                    select(
                        literal(response_id),
                        followups.c.patient_id,
                        followups.c.survey_id,
                        literal("in_progress"),
                        literal(to_db_time(now)),
                        followups.c.visit_id,
                    ).where(followups.c.id == followup.id),
                )
            )
            await count_response(conn, response_id)
        return True

    async def mark_sent(self, followup: Followup, now: datetime) -> None:
        """Telegram took the message: the weekly cap starts now."""
        await self._settle_sent(now, followups.c.id == followup.id)

    async def recover_interrupted(self, now: datetime) -> int:
        """Claims a crash left behind count as sent (at most once; the reminder heals)."""
        return await self._settle_sent(now, followups.c.status == "sending")

    async def _settle_sent(self, now: datetime, which: ColumnElement[bool]) -> int:
        at = to_db_time(now)
        async with self._db.transaction() as conn:
            # Asked in Telegram: the address kept in case it could not be is erased.
            await conn.run(
                delete(invitation_mail).where(
                    _visit_surveys(and_(which, followups.c.status == "sending"))
                )
            )
            await conn.run(
                update(patients)
                .where(patients.c.id.in_(select(followups.c.patient_id).where(which)))
                .values(last_followup_at=at)
            )
            return await conn.run(
                update(followups)
                .where(which, followups.c.status == "sending")
                .values(status="sent", sent_at=at)
            )

    async def release(self, followup: Followup, retry_at: datetime) -> None:
        """Sending failed: undo the claim and try again at `retry_at`."""
        async with self._db.transaction() as conn:
            started = await conn.scalar(
                select(responses.c.started_at)
                .join(followups, followups.c.response_id == responses.c.id)
                .where(followups.c.id == followup.id)
            )
            await conn.run(
                delete(responses).where(
                    responses.c.id
                    == select(followups.c.response_id)
                    .where(followups.c.id == followup.id)
                    .scalar_subquery(),
                    ~exists().where(answers.c.response_id == responses.c.id),
                )
            )
            if started is not None:
                day = started[:10]
                await refresh_days(conn, day, next_day(day))
            await conn.run(
                update(followups)
                .where(followups.c.id == followup.id, followups.c.status == "sending")
                .values(status="scheduled", response_id=None, retry_at=to_db_time(retry_at))
            )

    async def claim_reminder(self, followup: Followup, now: datetime, gap_start: datetime) -> bool:
        """Take the one reminder a follow-up gets; `False` if the weekly cap forbids it now."""
        at = to_db_time(now)
        async with self._db.transaction() as conn:
            reminded = await conn.run(
                update(followups)
                .where(
                    followups.c.id == followup.id,
                    followups.c.status == "sent",
                    exists().where(patients.c.id == followups.c.patient_id, _sendable(gap_start)),
                )
                .values(status="reminded", reminded_at=at)
            )
            if reminded == 0:
                return False
            await conn.run(
                update(patients)
                .where(patients.c.id == followup.patient_id)
                .values(last_followup_at=at)
            )
        return True

    async def block(self, followup: Followup, now: datetime) -> None:
        """The patient blocked the bot (403): stop everything for them, retry nothing."""
        async with self._db.transaction() as conn:
            await conn.run(
                update(patients)
                .where(patients.c.id == followup.patient_id)
                .values(blocked_at=to_db_time(now))
            )
            await conn.run(
                update(responses)
                .where(responses.c.id == followup.response_id, responses.c.status == "in_progress")
                .values(status="abandoned")
            )
            theirs = and_(
                followups.c.patient_id == followup.patient_id, followups.c.status.in_(_OPEN)
            )
            await conn.run(_mail_instead(theirs, now))
            await conn.run(update(followups).where(theirs).values(status="blocked"))

    async def expire(self, now: datetime, answered_by: datetime) -> int:
        """Drop what can no longer be sent in time, and what was not answered in time."""
        unanswered = and_(
            followups.c.status.in_(("sent", "reminded")),
            followups.c.sent_at <= to_db_time(answered_by),
        )
        too_late = and_(
            followups.c.status == "scheduled", followups.c.expires_at <= to_db_time(now)
        )
        async with self._db.transaction() as conn:
            # Its invitation expires with it: no e-mail either, and the address goes.
            await conn.run(delete(invitation_mail).where(_visit_surveys(too_late)))
            late = await conn.run(update(followups).where(too_late).values(status="expired"))
            await conn.run(
                update(responses)
                .where(
                    responses.c.status == "in_progress",
                    responses.c.id.in_(select(followups.c.response_id).where(unanswered)),
                )
                .values(status="abandoned")
            )
            lapsed = await conn.run(update(followups).where(unanswered).values(status="expired"))
            return late + lapsed

    async def stop_patient(self, external_id: int, now: datetime) -> int | None:
        """/stop: no more follow-ups; returns how many were cancelled (`None`: no patient)."""
        async with self._db.transaction() as conn:
            stopped = await conn.run(
                update(patients)
                .where(patients.c.external_id == external_id)
                .values(followups_stopped_at=to_db_time(now))
            )
            if stopped == 0:
                return None
            scheduled = and_(
                followups.c.status == "scheduled",
                followups.c.patient_id
                == select(patients.c.id)
                .where(patients.c.external_id == external_id)
                .scalar_subquery(),
            )
            await conn.run(_mail_instead(scheduled, now))
            return await conn.run(update(followups).where(scheduled).values(status="stopped"))

    async def resume_patient(self, external_id: int) -> bool:
        """Allow follow-ups again (for visits from now on); `False` if there is no patient."""
        async with self._db.transaction() as conn:
            resumed = await conn.run(
                update(patients)
                .where(patients.c.external_id == external_id)
                .values(followups_stopped_at=None, blocked_at=None)
            )
            return resumed > 0

    async def counts(self) -> Counter[FollowupStatus]:
        """How many follow-ups are in each state."""
        rows = await self._db.connection.rows(
            select(followups.c.status, func.count().label("how_many")).group_by(followups.c.status)
        )
        return Counter({FollowupStatus(row.status): int(row.how_many) for row in rows})

    async def listing(self, limit: int) -> list[Followup]:
        """The most relevant follow-ups for staff: open ones by due date, then the rest."""
        query = _LISTED.order_by(followups.c.status.not_in(_OPEN), followups.c.due_at).limit(limit)
        return [_row_to_followup(row._mapping) for row in await self._db.connection.rows(query)]
