"""Staff alerts in SQLite (written by `SqliteResponseStore.commit_answer`)."""

from __future__ import annotations

from datetime import datetime

from bot.domain.models import (
    AlertReason,
    CaseDelivery,
    CaseDirection,
    CaseMessage,
    CaseState,
    PatientRelay,
    PendingAlert,
    Redaction,
)
from storage.database import Database, from_db_time, to_db_time
from storage.responses import SqliteResponseStore
from storage.sql import Record


class SqliteAlertStore:
    """The `AlertStore` over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._responses = SqliteResponseStore(database)

    async def pending_alerts(
        self, due_by: datetime | None, *, after_id: int = 0, limit: int | None = None
    ) -> list[PendingAlert]:
        """Alerts never sent, or changed since, due by `due_by` (all if `None`); oldest first.

        A page: those with an id above `after_id`, at most `limit` (all if `None`).
        """
        async with self._db.connection.execute(
            "SELECT * FROM alerts"
            " WHERE version > delivered_version AND id > ?"
            " AND (CAST(? AS TEXT) IS NULL OR next_attempt_at IS NULL OR next_attempt_at <= ?)"
            " ORDER BY id LIMIT ?",
            (after_id, *(due_by and to_db_time(due_by),) * 2, -1 if limit is None else limit),
        ) as cursor:
            rows = await cursor.fetchall()
        pending = []
        for row in rows:
            response = await self._responses.get_response(row["response_id"])
            if response is None:  # pragma: no cover - alerts cascade with their response
                continue
            pending.append(
                PendingAlert(
                    id=row["id"],
                    response=response,
                    reasons=tuple(AlertReason(r) for r in row["reasons"].split(",") if r),
                    created_at=from_db_time(row["created_at"]),
                    staff_message_id=row["staff_message_id"],
                    version=row["version"],
                    failed_attempts=row["failed_attempts"],
                    maybe_sent=bool(row["maybe_sent"]),
                    case=await self._case(row),
                )
            )
        return pending

    async def _case(self, row: Record) -> CaseState:
        async with self._db.connection.execute(
            "SELECT direction, body, author_name, created_at, delivered_at, failed"
            " FROM case_messages WHERE alert_id = ? ORDER BY id",
            (row["id"],),
        ) as cursor:
            messages = await cursor.fetchall()
        return CaseState(
            claimed_by_name=row["claimed_by_name"],
            claimed_at=_time(row["claimed_at"]),
            first_reply_at=_time(row["first_reply_at"]),
            resolved_by_name=row["resolved_by_name"],
            resolved_at=_time(row["resolved_at"]),
            note=row["resolution_note"],
            reposted=row["escalated_at"] is not None,
            is_case=row["case_opened_at"] is not None,
            callback_phone=row["callback_phone"],
            conversation=tuple(
                CaseMessage(
                    direction=CaseDirection(message["direction"]),
                    body=message["body"],
                    created_at=from_db_time(message["created_at"]),
                    author_name=message["author_name"],
                    delivery=(
                        CaseDelivery.FAILED
                        if message["failed"]
                        else CaseDelivery.DELIVERED
                        if message["delivered_at"]
                        else CaseDelivery.PENDING
                    ),
                )
                for message in messages
            ),
        )

    async def pending_relays(self, due_by: datetime | None) -> list[PatientRelay]:
        """Patients' messages to staff not posted yet, due by `due_by` (all if `None`)."""
        async with self._db.connection.execute(
            "SELECT m.id, m.alert_id, p.pseudonym, m.body, m.created_at, m.failed_attempts,"
            " a.staff_message_id FROM case_messages m JOIN alerts a ON a.id = m.alert_id"
            " JOIN responses r ON r.id = a.response_id JOIN patients p ON p.id = r.patient_id"
            " WHERE m.direction = 'from_patient' AND m.delivered_at IS NULL"
            " AND (CAST(? AS TEXT) IS NULL OR m.next_attempt_at <= ?) ORDER BY m.id",
            (due_by and to_db_time(due_by),) * 2,
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            PatientRelay(
                id=row["id"],
                alert_id=row["alert_id"],
                pseudonym=row["pseudonym"],
                body=row["body"],
                created_at=from_db_time(row["created_at"]),
                reply_to=row["staff_message_id"],
                failed_attempts=row["failed_attempts"],
            )
            for row in rows
        ]

    async def relay_posted(self, relay_id: int, message_id: int) -> None:
        """The patient's message is in the staff chat, as this message."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE case_messages SET delivered_at = created_at, staff_message_id = ?"
                " WHERE id = ?",
                (message_id, relay_id),
            )
            await conn.execute(
                "INSERT INTO case_staff_messages (message_id, alert_id, kind)"
                " SELECT CAST(? AS BIGINT), alert_id, 'patient' FROM case_messages WHERE id = ?"
                " ON CONFLICT DO NOTHING",
                (message_id, relay_id),
            )

    async def postpone_relay(self, relay_id: int, until: datetime, failed_attempts: int) -> None:
        """Try posting the patient's message again at `until`."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE case_messages SET next_attempt_at = ?, failed_attempts = ? WHERE id = ?",
                (to_db_time(until), failed_attempts, relay_id),
            )

    async def mark_sending(self, alert_id: int) -> None:
        """Record, before a send, that the alert may reach staff without being marked."""
        async with self._db.transaction() as conn:
            await conn.execute("UPDATE alerts SET maybe_sent = 1 WHERE id = ?", (alert_id,))

    async def mark_delivered(
        self, alert_id: int, staff_message_id: int, version: int, *, maybe_repeat: bool
    ) -> None:
        """Record that staff have seen this version of the alert."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE alerts SET staff_message_id = ?,"
                " delivered_version = CASE WHEN delivered_version > ? THEN delivered_version"
                " ELSE ? END, maybe_sent = ?, failed_attempts = 0, next_attempt_at = NULL"
                " WHERE id = ?",
                (staff_message_id, version, version, int(maybe_repeat), alert_id),
            )
            # A staff reply to it is about this case, and it is blanked with the patient.
            await conn.execute(
                "INSERT INTO case_staff_messages (message_id, alert_id, kind)"
                " VALUES (?, ?, 'alert') ON CONFLICT DO NOTHING",
                (staff_message_id, alert_id),
            )

    async def postpone(
        self, alert_id: int, until: datetime, failed_attempts: int, *, maybe_sent: bool
    ) -> None:
        """Try again at `until`, after this many failures in a row."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE alerts SET next_attempt_at = ?, failed_attempts = ?, maybe_sent = ?"
                " WHERE id = ?",
                (to_db_time(until), failed_attempts, int(maybe_sent), alert_id),
            )

    async def pending_redactions(self, due_by: datetime | None) -> list[Redaction]:
        """Staff messages to blank, due by `due_by` (all if `None`), oldest first."""
        async with self._db.connection.execute(
            "SELECT message_id, failed_attempts FROM staff_redactions"
            " WHERE CAST(? AS TEXT) IS NULL OR next_attempt_at <= ?"
            " ORDER BY created_at, message_id",
            (due_by and to_db_time(due_by),) * 2,
        ) as cursor:
            rows = await cursor.fetchall()
        return [Redaction(row["message_id"], row["failed_attempts"]) for row in rows]

    async def redaction_done(self, message_id: int) -> None:
        """The staff message is blank now (or gone)."""
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM staff_redactions WHERE message_id = ?", (message_id,))

    async def postpone_redaction(
        self, message_id: int, until: datetime, failed_attempts: int
    ) -> None:
        """Try blanking it again at `until`, after this many failures in a row."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE staff_redactions SET next_attempt_at = ?, failed_attempts = ?"
                " WHERE message_id = ?",
                (to_db_time(until), failed_attempts, message_id),
            )

    async def forget_message(self, alert_id: int) -> None:
        """The staff message was deleted: the alert is to be posted anew."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE alerts SET staff_message_id = NULL WHERE id = ?", (alert_id,)
            )


def _time(text: str | None) -> datetime | None:
    return None if text is None else from_db_time(text)
