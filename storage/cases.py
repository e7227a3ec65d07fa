"""Cases in SQLite: who took an alert, the conversation with the patient, the resolution.

Every change bumps the alert's version, so the alert outbox edits the staff message to
show it: the change and the edit it owes are written in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Text,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)

from bot.domain.models import (
    AlertReason,
    CaseIntent,
    CaseTarget,
    IntentKind,
    OpenCase,
    StaffMember,
    StaffReplyStored,
)
from storage.database import Database, from_db_time, to_db_time
from storage.responses import remember_handled
from storage.schema import (
    alerts,
    case_messages,
    case_staff_messages,
    handled_events,
    patient_notices,
    patients,
    responses,
    staff_intents,
)
from storage.sql import StoredRow

_OF_PATIENT = alerts.join(responses, responses.c.id == alerts.c.response_id).join(
    patients, patients.c.id == responses.c.patient_id
)
"""Alerts with their patient."""
_OPEN = and_(alerts.c.resolved_at.is_(None), alerts.c.case_opened_at.is_not(None))
"""A case that staff can still act on."""
_OPEN_CASE = (
    select(
        alerts.c.id,
        patients.c.pseudonym,
        alerts.c.reasons,
        alerts.c.case_opened_at,
        alerts.c.claimed_by_name,
        alerts.c.first_reply_at,
        alerts.c.staff_message_id,
    )
    .select_from(_OF_PATIENT)
    .where(_OPEN)
)


_AWAITING = (
    select(alerts.c.id)
    .select_from(_OF_PATIENT)
    .where(patients.c.external_id == bindparam("external_id"), alerts.c.awaiting_patient == 1)
    .order_by(alerts.c.id.desc())
    .limit(1)
)
"""The patient's case awaiting their answer to a staff reply, if any (the latest)."""


def _open_case(row: StoredRow) -> OpenCase:
    return OpenCase(
        alert_id=row.id,
        pseudonym=row.pseudonym,
        reasons=tuple(AlertReason(r) for r in row.reasons.split(",") if r),
        created_at=from_db_time(row.case_opened_at),
        claimed_by_name=row.claimed_by_name,
        first_reply_at=from_db_time(row.first_reply_at) if row.first_reply_at else None,
        staff_message_id=row.staff_message_id,
    )


class SqliteCaseStore:
    """The `CaseStore` over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def case_target(self, alert_id: int) -> CaseTarget | None:
        """What staff act on: the case's patient pseudonym and state.

        `None` once erased, and for an alert from before cases existed.
        """
        row = await self._db.connection.first(
            select(
                alerts.c.id,
                patients.c.pseudonym,
                alerts.c.claimed_by,
                alerts.c.claimed_by_name,
                alerts.c.resolved_at,
            )
            .select_from(_OF_PATIENT)
            .where(alerts.c.id == alert_id, alerts.c.case_opened_at.is_not(None))
        )
        if row is None:
            return None
        return CaseTarget(
            alert_id=row.id,
            pseudonym=row.pseudonym,
            claimed_by=row.claimed_by,
            claimed_by_name=row.claimed_by_name,
            resolved=row.resolved_at is not None,
        )

    async def claim(self, alert_id: int, staff: StaffMember, now: datetime) -> bool:
        """Give an open, unclaimed case to `staff`; whether it was theirs to take."""
        async with self._db.transaction() as conn:
            claimed = await conn.run(
                update(alerts)
                .where(alerts.c.id == alert_id, alerts.c.claimed_by.is_(None), _OPEN)
                .values(
                    claimed_by=staff.user_id,
                    claimed_by_name=staff.name,
                    claimed_at=to_db_time(now),
                    version=alerts.c.version + 1,
                )
            )
            return claimed > 0

    async def set_intent(self, staff: StaffMember, intent: CaseIntent, now: datetime) -> None:
        """Remember what this staff member's next message is for (one intent each)."""
        async with self._db.transaction() as conn:
            chosen = conn.insert(staff_intents).values(
                user_id=staff.user_id,
                alert_id=intent.alert_id,
                kind=intent.kind.value,
                created_at=to_db_time(now),
            )
            await conn.run(
                chosen.on_conflict_do_update(
                    index_elements=[staff_intents.c.user_id],
                    set_={
                        "alert_id": chosen.excluded.alert_id,
                        "kind": chosen.excluded.kind,
                        "created_at": chosen.excluded.created_at,
                    },
                )
            )

    async def intent(self, user_id: int, since: datetime) -> CaseIntent | None:
        """This staff member's intent, if set since `since`."""
        row = await self._db.connection.first(
            select(staff_intents.c.alert_id, staff_intents.c.kind).where(
                staff_intents.c.user_id == user_id,
                staff_intents.c.created_at >= to_db_time(since),
            )
        )
        return None if row is None else CaseIntent(row.alert_id, IntentKind(row.kind))

    async def clear_intent(self, user_id: int) -> bool:
        """Forget this staff member's intent; whether there was one."""
        async with self._db.transaction() as conn:
            cleared = await conn.run(
                delete(staff_intents).where(staff_intents.c.user_id == user_id)
            )
            return cleared > 0

    async def case_of_message(self, message_id: int) -> CaseIntent | None:
        """What a reply to this staff-chat message is for, if it belongs to a case."""
        row = await self._db.connection.first(
            select(case_staff_messages.c.alert_id, case_staff_messages.c.kind).where(
                case_staff_messages.c.message_id == message_id
            )
        )
        if row is None:
            return None
        kind = IntentKind.NOTE if row.kind == "note" else IntentKind.REPLY
        return CaseIntent(row.alert_id, kind)

    async def record_prompt(self, message_id: int, intent: CaseIntent) -> None:
        """The bot's prompt in the staff chat: a reply to it is what `intent` says."""
        kind = "note" if intent.kind is IntentKind.NOTE else "prompt"
        async with self._db.transaction() as conn:
            await conn.run(
                conn.insert(case_staff_messages)
                .from_select(
                    ["message_id", "alert_id", "kind"],
                    select(
                        literal(message_id, BigInteger), alerts.c.id, literal(kind, Text)
                    ).where(alerts.c.id == intent.alert_id),
                )
                .on_conflict_do_nothing()
            )

    async def add_staff_reply(
        self,
        alert_id: int,
        staff: StaffMember,
        body: str,
        now: datetime,
        dedup_key: int | None = None,
    ) -> StaffReplyStored:
        """Owe the patient this reply (claiming an unclaimed case), unless stored already.

        `dedup_key`: the staff message's update, so that a redelivery sends nothing twice.
        """
        moment = to_db_time(now)
        async with self._db.transaction() as conn:
            if dedup_key is not None and await conn.scalar(
                select(exists().where(handled_events.c.event_key == dedup_key))
            ):
                return StaffReplyStored.ALREADY  # a retry (the console's) or a redelivery
            taken = await conn.run(
                update(alerts)
                .where(alerts.c.id == alert_id, _OPEN)
                .values(
                    first_reply_at=func.coalesce(alerts.c.first_reply_at, moment),
                    claimed_by=func.coalesce(alerts.c.claimed_by, staff.user_id),
                    claimed_by_name=func.coalesce(alerts.c.claimed_by_name, staff.name),
                    claimed_at=func.coalesce(alerts.c.claimed_at, moment),
                    version=alerts.c.version + 1,
                )
            )
            if taken == 0:
                return StaffReplyStored.CASE_CLOSED
            message_id = await conn.scalar(
                insert(case_messages)
                .values(
                    alert_id=alert_id,
                    direction="to_patient",
                    body=body,
                    author_name=staff.name,
                    created_at=moment,
                )
                .returning(case_messages.c.id)
            )
            if message_id is None:  # pragma: no cover - RETURNING gives the row just inserted
                raise RuntimeError("case message vanished after insert")
            await conn.run(
                insert(patient_notices).from_select(
                    ["response_id", "kind", "created_at", "next_attempt_at", "case_message_id"],
                    select(
                        alerts.c.response_id,
                        literal("staff_reply"),
                        literal(moment),
                        literal(moment),
                        literal(message_id, BigInteger),
                    ).where(alerts.c.id == alert_id),
                )
            )
            await conn.run(delete(staff_intents).where(staff_intents.c.user_id == staff.user_id))
            if dedup_key is not None:
                await remember_handled(conn, dedup_key, moment)
        return StaffReplyStored.OWED

    async def resolve(self, alert_id: int, staff: StaffMember, now: datetime) -> bool:
        """Close the case; `False` if it was closed already."""
        async with self._db.transaction() as conn:
            resolved = await conn.run(
                update(alerts)
                .where(alerts.c.id == alert_id, _OPEN)
                .values(
                    resolved_by_name=staff.name,
                    resolved_at=to_db_time(now),
                    awaiting_patient=0,
                    version=alerts.c.version + 1,
                )
            )
            # Nobody's next message is a reply to a closed case any more.
            await conn.run(
                delete(staff_intents).where(
                    staff_intents.c.alert_id == alert_id, staff_intents.c.kind == "reply"
                )
            )
            return resolved > 0

    async def add_note(self, alert_id: int, note: str) -> bool:
        """The resolved case's note; `False` if the case is not resolved."""
        async with self._db.transaction() as conn:
            noted = await conn.run(
                update(alerts)
                .where(alerts.c.id == alert_id, alerts.c.resolved_at.is_not(None))
                .values(resolution_note=note, version=alerts.c.version + 1)
            )
            return noted > 0

    async def relay_from_patient(
        self, external_id: int, body: str, now: datetime, dedup_key: int | None
    ) -> bool:
        """Pass the patient's message to the case awaiting it; whether one was.

        Every typed message asks, so the usual answer (none awaits) is a read, without the
        write lock; a case found is looked up again inside the transaction, where staff
        cannot resolve it in between.
        """
        if await self._db.connection.first(_AWAITING, {"external_id": external_id}) is None:
            return False
        moment = to_db_time(now)
        async with self._db.transaction() as conn:
            alert_id = await conn.scalar(_AWAITING, {"external_id": external_id})
            if alert_id is None:
                return False
            await conn.run(
                insert(case_messages).values(
                    alert_id=alert_id,
                    direction="from_patient",
                    body=body,
                    created_at=moment,
                    next_attempt_at=moment,
                )
            )
            # Their next message only: after it, messages are survey answers again.
            await conn.run(
                update(alerts)
                .where(alerts.c.id == alert_id)
                .values(awaiting_patient=0, version=alerts.c.version + 1)
            )
            if dedup_key is not None:
                await remember_handled(conn, dedup_key, moment)
        return True

    async def open_cases(self) -> list[OpenCase]:
        """Cases not resolved yet, oldest first."""
        rows = await self._db.connection.rows(
            _OPEN_CASE.order_by(alerts.c.case_opened_at, alerts.c.id)
        )
        return [_open_case(row) for row in rows]

    async def unclaimed_posted(self) -> list[OpenCase]:
        """Posted cases nobody took and that were never posted again, oldest first."""
        rows = await self._db.connection.rows(
            _OPEN_CASE.where(
                alerts.c.claimed_by.is_(None),
                alerts.c.escalated_at.is_(None),
                alerts.c.staff_message_id.is_not(None),
            ).order_by(alerts.c.case_opened_at, alerts.c.id)
        )
        return [_open_case(row) for row in rows]

    async def repost(self, alert_id: int, now: datetime) -> bool:
        """Post the case again as a new message; `False` if taken or closed since.

        The old message stays a message of the case: replies to it still reach the case.
        """
        async with self._db.transaction() as conn:
            reposted = await conn.run(
                update(alerts)
                .where(
                    alerts.c.id == alert_id,
                    alerts.c.claimed_by.is_(None),
                    alerts.c.resolved_at.is_(None),
                )
                .values(
                    escalated_at=to_db_time(now),
                    staff_message_id=None,
                    maybe_sent=0,
                    version=alerts.c.version + 1,
                )
            )
            return reposted > 0

    async def callback_request(self, external_id: int, phone: str) -> bool:
        """Record the number the patient shared on their latest case; whether there was one."""
        latest = alerts.alias("latest")
        latest_case = (
            select(latest.c.id)
            .select_from(
                latest.join(responses, responses.c.id == latest.c.response_id).join(
                    patients, patients.c.id == responses.c.patient_id
                )
            )
            .where(patients.c.external_id == external_id)
            .order_by(latest.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        async with self._db.transaction() as conn:
            recorded = await conn.run(
                update(alerts)
                .where(alerts.c.id == latest_case)
                .values(callback_phone=phone, version=alerts.c.version + 1)
            )
            return recorded > 0
