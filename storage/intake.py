"""Visits a booking system announced, each event once, with the invitation it made."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Executable, and_, bindparam, exists, func, insert, literal, select, update

from bot.domain.intake import (
    Delivery,
    DeliveryPlan,
    LinkedPatient,
    MailStatus,
    Planner,
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
from storage.sql import Connection, dialect_insert

# A visit survey in Telegram can be answered for as long as its invitation could, and a day
# at least (an invitation shorter than the delay after the visit would expire unsent).
_LEAST_TO_ANSWER = timedelta(days=1)


# Built once: an intake burst runs them thousands of times, and building a statement costs
# more than SQLite takes to run it.
_RECORDED = (
    select(visits, visit_events.c.delivery)
    .join(visit_events, visit_events.c.visit_id == visits.c.id)
    .where(
        visit_events.c.source == bindparam("source"),
        visit_events.c.event_id == bindparam("event_id"),
    )
)
_LINK = (
    select(patients.c.id)
    .join(patient_links, patient_links.c.patient_id == patients.c.id)
    .where(
        patient_links.c.source == bindparam("source"),
        patient_links.c.patient_ref == bindparam("patient_ref"),
    )
)
# An event's earlier record (a repeat), or else what its delivery plan needs: the linked
# patient, whether the bot may write to them, whether they were asked since `since`. One
# statement for either, as each costs a round trip to the database's thread.
_ONE_ROW = select(literal(1).label("one")).subquery()
_EARLIER = visit_events.alias("earlier")
_EARLIER_OR_STATE = select(
    visits,
    _EARLIER.c.delivery,
    _LINK.scalar_subquery().label("linked_patient"),
    _LINK.where(patients.c.followups_stopped_at.is_(None), patients.c.blocked_at.is_(None))
    .exists()
    .label("linked_reachable"),
    exists()
    .where(
        visit_events.c.source == bindparam("source"),
        visit_events.c.patient_ref == bindparam("patient_ref"),
        visit_events.c.received_at >= bindparam("since"),
        visit_events.c.delivery.in_((Delivery.TELEGRAM, Delivery.EMAIL)),
    )
    .label("asked_recently"),
).select_from(
    _ONE_ROW.outerjoin(
        _EARLIER,
        and_(
            _EARLIER.c.source == bindparam("source"),
            _EARLIER.c.event_id == bindparam("event_id"),
        ),
    ).outerjoin(visits, visits.c.id == _EARLIER.c.visit_id)
)
# Many rows in one INSERT, their ids returned in the order of the rows given.
_NEW_VISITS = insert(visits).returning(visits.c.id, sort_by_parameter_order=True)


@lru_cache(maxsize=2)
def _event_insert(dialect: str) -> Executable:
    """The event's row, unless another worker stored the same event first."""
    return (
        dialect_insert(dialect, visit_events)
        .on_conflict_do_nothing()
        .returning(visit_events.c.event_id, sort_by_parameter_order=True)
    )


class _RecordedMeanwhileError(Exception):
    """Another worker recorded the same event while this one was about to."""


# Events arriving together are written in one transaction (a group commit): with each its
# own, a busy booking system's calls queued behind one another's transactions (about 170 a
# second, benchmarks/intake_load.py); together they share the commit and two INSERTs.
MOST_IN_ONE_COMMIT = 100


@dataclass(slots=True)
class _Announced:
    """An event waiting for the next group commit, and who waits for its answer."""

    source: str
    event: VisitEvent
    invitation: Invitation
    now: datetime
    asked_since: datetime | None
    plan: Planner
    answer: asyncio.Future[RecordedVisit]


class SqliteVisitEvents:
    """The `VisitEvents` port over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._waiting: list[_Announced] = []
        self._writer: asyncio.Task[None] | None = None

    async def record_visit(  # noqa: PLR0913 - the event, what it made, and what decides the rest
        self,
        source: str,
        event: VisitEvent,
        invitation: Invitation,
        now: datetime,
        *,
        asked_since: datetime | None,
        plan: Planner,
    ) -> RecordedVisit:
        """Store the invitation, the event and the survey or e-mail it owes, together.

        `plan` decides how the patient is asked, from their link and whether they were
        asked since `asked_since` (`None`: no limit), both read in the same transaction.
        The same event again, even at the same moment from another worker, answers with
        the invitation the first made, and stores nothing.
        """
        answer: asyncio.Future[RecordedVisit] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Announced(source, event, invitation, now, asked_since, plan, answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        return await asyncio.shield(answer)

    async def _write_waiting(self) -> None:
        """Commit what waits, a group at a time, until nothing does."""
        while self._waiting:
            group = self._waiting[:MOST_IN_ONE_COMMIT]
            del self._waiting[: len(group)]
            try:
                answers = await self._record_together(group)
            except Exception:  # noqa: BLE001 - each alone then, to answer each with its own
                for announced in group:
                    await self._record_alone(announced)
                continue
            for announced, recorded in zip(group, answers, strict=True):
                _settle(announced.answer, recorded)

    async def _record_alone(self, announced: _Announced) -> None:
        try:
            recorded = (await self._record_together([announced]))[0]
        except _RecordedMeanwhileError:
            earlier = await _recorded(
                self._db.connection, announced.source, announced.event.event_id
            )
            if earlier is None:  # pragma: no cover - the other worker's row is committed
                _settle(announced.answer, RuntimeError("a recorded visit event vanished"))
                return
            _settle(announced.answer, earlier)
        except Exception as error:  # noqa: BLE001 - handed to the caller, who answers 503
            _settle(announced.answer, error)
        else:
            _settle(announced.answer, recorded)

    async def _record_together(self, group: list[_Announced]) -> list[RecordedVisit]:
        """One transaction for the group: each event read, the new ones written at once.

        A repeat within the group answers as its first; a patient asked by an event
        earlier in the group counts as asked for the later ones.
        """
        answers: list[RecordedVisit] = []
        seen: dict[tuple[str, str], RecordedVisit] = {}
        asked: set[tuple[str, str]] = set()
        fresh: list[tuple[_Announced, DeliveryPlan]] = []
        async with self._db.transaction() as conn:
            for announced in group:
                key = (announced.source, announced.event.event_id)
                earlier = seen.get(key)
                if earlier is not None:
                    answers.append(replace(earlier, repeated=True))
                    continue
                found = await _earlier_or_plan(conn, announced, asked)
                if isinstance(found, RecordedVisit):
                    recorded = found
                else:
                    fresh.append((announced, found))
                    recorded = RecordedVisit(announced.invitation, found.delivery, repeated=False)
                seen[key] = recorded
                answers.append(recorded)
            await _store_fresh(conn, fresh)
        return answers

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


async def _earlier_or_plan(
    conn: Connection, announced: _Announced, asked: set[tuple[str, str]]
) -> RecordedVisit | DeliveryPlan:
    """The event's earlier record, or the plan for a new one (noting who it asks in `asked`)."""
    event = announced.event
    patient = (announced.source, event.patient.id)
    # No limit: a moment no visit was received after.
    since = to_db_time(announced.asked_since) if announced.asked_since else "9999"
    found = await conn.first(
        _EARLIER_OR_STATE,
        {
            "source": announced.source,
            "event_id": event.event_id,
            "patient_ref": event.patient.id,
            "since": since,
        },
    )
    if found is None:  # pragma: no cover - it selects from a row of its own
        raise RuntimeError("the event's state could not be read")
    if found.id is not None:
        earlier = row_to_invitation(found._mapping)
        return RecordedVisit(earlier, Delivery(found.delivery), repeated=True)
    linked = (
        None
        if found.linked_patient is None
        else LinkedPatient(int(found.linked_patient), reachable=bool(found.linked_reachable))
    )
    recently = bool(found.asked_recently) or (
        announced.asked_since is not None and patient in asked
    )
    plan = announced.plan(linked, recently)
    if plan.delivery is not Delivery.NONE:
        asked.add(patient)
    return plan


async def _store_fresh(conn: Connection, fresh: list[tuple[_Announced, DeliveryPlan]]) -> None:
    """The group's new events and their invitations, in two statements; then what each owes."""
    if not fresh:
        return
    visit_ids = [
        row.id
        for row in await conn.rows(
            _NEW_VISITS, [invitation_row(announced.invitation) for announced, _ in fresh]
        )
    ]
    events: list[Mapping[str, object]] = [
        {
            "source": announced.source,
            "event_id": announced.event.event_id,
            "received_at": to_db_time(announced.now),
            "visit_id": visit_id,
            "delivery": plan.delivery.value,
            "patient_ref": announced.event.patient.id,
        }
        for (announced, plan), visit_id in zip(fresh, visit_ids, strict=True)
    ]
    stored = await conn.rows(_event_insert(conn.dialect), events)
    # Fewer: PostgreSQL waited for another worker's commit of one of them; all go, and each
    # is recorded alone.
    _undone_unless(len(stored) == len(fresh))
    for (announced, plan), visit_id in zip(fresh, visit_ids, strict=True):
        patient = (announced.source, announced.event.patient.id)
        await _owe(
            conn, plan, announced.invitation, visit_id=visit_id, link=patient, now=announced.now
        )


def _settle(answer: asyncio.Future[RecordedVisit], outcome: RecordedVisit | Exception) -> None:
    """Answer the caller, unless it stopped waiting (the client went away)."""
    if answer.done():
        return
    if isinstance(outcome, Exception):
        answer.set_exception(outcome)
    else:
        answer.set_result(outcome)


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


def _undone_unless(stored: bool) -> None:  # noqa: FBT001 - read as a sentence
    """Roll the transaction back (by raising) unless every event's row was stored."""
    if not stored:
        raise _RecordedMeanwhileError


async def _recorded(conn: Connection, source: str, event_id: str) -> RecordedVisit | None:
    row = await conn.first(_RECORDED, {"source": source, "event_id": event_id})
    if row is None:
        return None
    return RecordedVisit(row_to_invitation(row._mapping), Delivery(row.delivery), repeated=True)
