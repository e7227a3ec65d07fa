"""Cases in SQLite: who took an alert, the conversation with the patient, the resolution.

Every change bumps the alert's version, so the alert outbox edits the staff message to
show it: the change and the edit it owes are written in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.models import (
    AlertReason,
    CaseIntent,
    CaseTarget,
    IntentKind,
    OpenCase,
    StaffMember,
)
from storage.database import Database, from_db_time, to_db_time
from storage.sql import Record

_OPEN_CASE = (
    "SELECT a.id, p.pseudonym, a.reasons, a.case_opened_at, a.claimed_by_name,"
    " a.first_reply_at, a.staff_message_id FROM alerts a JOIN responses r"
    " ON r.id = a.response_id JOIN patients p ON p.id = r.patient_id"
    " WHERE a.resolved_at IS NULL AND a.case_opened_at IS NOT NULL"
)

# The patient's case awaiting their answer to a staff reply, if any (the latest).
_AWAITING = (
    "SELECT a.id FROM alerts a JOIN responses r ON r.id = a.response_id"
    " JOIN patients p ON p.id = r.patient_id"
    " WHERE p.external_id = ? AND a.awaiting_patient = 1 ORDER BY a.id DESC LIMIT 1"
)


def _open_case(row: Record) -> OpenCase:
    return OpenCase(
        alert_id=row["id"],
        pseudonym=row["pseudonym"],
        reasons=tuple(AlertReason(r) for r in row["reasons"].split(",") if r),
        created_at=from_db_time(row["case_opened_at"]),
        claimed_by_name=row["claimed_by_name"],
        first_reply_at=from_db_time(row["first_reply_at"]) if row["first_reply_at"] else None,
        staff_message_id=row["staff_message_id"],
    )


class SqliteCaseStore:
    """The `CaseStore` over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def case_target(self, alert_id: int) -> CaseTarget | None:
        """What staff act on: the case's patient pseudonym and state.

        `None` once erased, and for an alert from before cases existed.
        """
        async with self._db.connection.execute(
            "SELECT a.id, p.pseudonym, a.claimed_by, a.claimed_by_name, a.resolved_at"
            " FROM alerts a JOIN responses r ON r.id = a.response_id"
            " JOIN patients p ON p.id = r.patient_id"
            " WHERE a.id = ? AND a.case_opened_at IS NOT NULL",
            (alert_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return CaseTarget(
            alert_id=row["id"],
            pseudonym=row["pseudonym"],
            claimed_by=row["claimed_by"],
            claimed_by_name=row["claimed_by_name"],
            resolved=row["resolved_at"] is not None,
        )

    async def claim(self, alert_id: int, staff: StaffMember, now: datetime) -> bool:
        """Give an open, unclaimed case to `staff`; whether it was theirs to take."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET claimed_by = ?, claimed_by_name = ?, claimed_at = ?,"
                " version = version + 1"
                " WHERE id = ? AND claimed_by IS NULL AND resolved_at IS NULL"
                " AND case_opened_at IS NOT NULL",
                (staff.user_id, staff.name, to_db_time(now), alert_id),
            )
            return cursor.rowcount > 0

    async def set_intent(self, staff: StaffMember, intent: CaseIntent, now: datetime) -> None:
        """Remember what this staff member's next message is for (one intent each)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO staff_intents (user_id, alert_id, kind, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
                " alert_id = excluded.alert_id, kind = excluded.kind,"
                " created_at = excluded.created_at",
                (staff.user_id, intent.alert_id, intent.kind.value, to_db_time(now)),
            )

    async def intent(self, user_id: int, since: datetime) -> CaseIntent | None:
        """This staff member's intent, if set since `since`."""
        async with self._db.connection.execute(
            "SELECT alert_id, kind FROM staff_intents WHERE user_id = ? AND created_at >= ?",
            (user_id, to_db_time(since)),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else CaseIntent(row["alert_id"], IntentKind(row["kind"]))

    async def clear_intent(self, user_id: int) -> bool:
        """Forget this staff member's intent; whether there was one."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM staff_intents WHERE user_id = ?", (user_id,))
            return cursor.rowcount > 0

    async def case_of_message(self, message_id: int) -> CaseIntent | None:
        """What a reply to this staff-chat message is for, if it belongs to a case."""
        async with self._db.connection.execute(
            "SELECT alert_id, kind FROM case_staff_messages WHERE message_id = ?", (message_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        kind = IntentKind.NOTE if row["kind"] == "note" else IntentKind.REPLY
        return CaseIntent(row["alert_id"], kind)

    async def record_prompt(self, message_id: int, intent: CaseIntent) -> None:
        """The bot's prompt in the staff chat: a reply to it is what `intent` says."""
        kind = "note" if intent.kind is IntentKind.NOTE else "prompt"
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO case_staff_messages (message_id, alert_id, kind)"
                " SELECT CAST(? AS BIGINT), id, CAST(? AS TEXT) FROM alerts WHERE id = ?"
                " ON CONFLICT DO NOTHING",
                (message_id, kind, intent.alert_id),
            )

    async def add_staff_reply(
        self,
        alert_id: int,
        staff: StaffMember,
        body: str,
        now: datetime,
        dedup_key: int | None = None,
    ) -> bool:
        """Owe the patient this reply (claiming an unclaimed case); `False` if closed.

        `dedup_key`: the staff message's update, so that a redelivery sends nothing twice.
        """
        moment = to_db_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET first_reply_at = coalesce(first_reply_at, ?),"
                " claimed_by = coalesce(claimed_by, ?),"
                " claimed_by_name = coalesce(claimed_by_name, ?),"
                " claimed_at = coalesce(claimed_at, ?), version = version + 1"
                " WHERE id = ? AND resolved_at IS NULL AND case_opened_at IS NOT NULL",
                (moment, staff.user_id, staff.name, moment, alert_id),
            )
            if cursor.rowcount == 0:
                return False
            async with conn.execute(
                "INSERT INTO case_messages (alert_id, direction, body, author_name, created_at)"
                " VALUES (?, 'to_patient', ?, ?, ?) RETURNING id",
                (alert_id, body, staff.name, moment),
            ) as cursor:
                message = await cursor.fetchone()
            if message is None:  # pragma: no cover - RETURNING gives the row just inserted
                raise RuntimeError("case message vanished after insert")
            await conn.execute(
                "INSERT INTO patient_notices"
                " (response_id, kind, created_at, next_attempt_at, case_message_id)"
                " SELECT response_id, 'staff_reply', ?, ?, CAST(? AS BIGINT) FROM alerts"
                " WHERE id = ?",
                (moment, moment, message["id"], alert_id),
            )
            await conn.execute("DELETE FROM staff_intents WHERE user_id = ?", (staff.user_id,))
            if dedup_key is not None:
                await conn.execute(
                    "INSERT INTO handled_events (event_key, handled_at) VALUES (?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (dedup_key, moment),
                )
        return True

    async def resolve(self, alert_id: int, staff: StaffMember, now: datetime) -> bool:
        """Close the case; `False` if it was closed already."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET resolved_by_name = ?, resolved_at = ?,"
                " awaiting_patient = 0, version = version + 1"
                " WHERE id = ? AND resolved_at IS NULL AND case_opened_at IS NOT NULL",
                (staff.name, to_db_time(now), alert_id),
            )
            # Nobody's next message is a reply to a closed case any more.
            await conn.execute(
                "DELETE FROM staff_intents WHERE alert_id = ? AND kind = 'reply'", (alert_id,)
            )
            return cursor.rowcount > 0

    async def add_note(self, alert_id: int, note: str) -> bool:
        """The resolved case's note; `False` if the case is not resolved."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET resolution_note = ?, version = version + 1"
                " WHERE id = ? AND resolved_at IS NOT NULL",
                (note, alert_id),
            )
            return cursor.rowcount > 0

    async def relay_from_patient(
        self, external_id: int, body: str, now: datetime, dedup_key: int | None
    ) -> bool:
        """Pass the patient's message to the case awaiting it; whether one was.

        Every typed message asks, so the usual answer (none awaits) is a read, without the
        write lock; a case found is looked up again inside the transaction, where staff
        cannot resolve it in between.
        """
        async with self._db.connection.execute(_AWAITING, (external_id,)) as cursor:
            if await cursor.fetchone() is None:
                return False
        moment = to_db_time(now)
        async with self._db.transaction() as conn:
            async with conn.execute(_AWAITING, (external_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return False
            await conn.execute(
                "INSERT INTO case_messages (alert_id, direction, body, created_at,"
                " next_attempt_at) VALUES (?, 'from_patient', ?, ?, ?)",
                (row["id"], body, moment, moment),
            )
            # Their next message only: after it, messages are survey answers again.
            await conn.execute(
                "UPDATE alerts SET awaiting_patient = 0, version = version + 1 WHERE id = ?",
                (row["id"],),
            )
            if dedup_key is not None:
                await conn.execute(
                    "INSERT INTO handled_events (event_key, handled_at) VALUES (?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (dedup_key, moment),
                )
        return True

    async def open_cases(self) -> list[OpenCase]:
        """Cases not resolved yet, oldest first."""
        async with self._db.connection.execute(
            _OPEN_CASE + " ORDER BY a.case_opened_at, a.id"
        ) as cursor:
            return [_open_case(row) for row in await cursor.fetchall()]

    async def unclaimed_posted(self) -> list[OpenCase]:
        """Posted cases nobody took and that were never posted again, oldest first."""
        async with self._db.connection.execute(
            _OPEN_CASE + " AND a.claimed_by IS NULL AND a.escalated_at IS NULL"
            " AND a.staff_message_id IS NOT NULL ORDER BY a.case_opened_at, a.id"
        ) as cursor:
            return [_open_case(row) for row in await cursor.fetchall()]

    async def repost(self, alert_id: int, now: datetime) -> bool:
        """Post the case again as a new message; `False` if taken or closed since.

        The old message stays a message of the case: replies to it still reach the case.
        """
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET escalated_at = ?, staff_message_id = NULL, maybe_sent = 0,"
                " version = version + 1"
                " WHERE id = ? AND claimed_by IS NULL AND resolved_at IS NULL",
                (to_db_time(now), alert_id),
            )
            return cursor.rowcount > 0

    async def callback_request(self, external_id: int, phone: str) -> bool:
        """Record the number the patient shared on their latest case; whether there was one."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET callback_phone = ?, version = version + 1 WHERE id ="
                " (SELECT a.id FROM alerts a JOIN responses r ON r.id = a.response_id"
                " JOIN patients p ON p.id = r.patient_id WHERE p.external_id = ?"
                " ORDER BY a.id DESC LIMIT 1)",
                (phone, external_id),
            )
            return cursor.rowcount > 0
