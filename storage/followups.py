"""Follow-ups in SQLite: what is due, claiming one for sending, and what happened to it.

Delivery is at most once: a follow-up is claimed (its response created, status `sending`)
before the message goes out, and a claim left behind by a crash counts as sent. If that
message never arrived, the reminder asks the same question again.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from bot.domain.models import Followup, FollowupStatus
from storage.database import Database, from_db_time, to_db_time
from storage.responses import row_to_visit
from storage.sql import Record
from storage.totals import count_response, next_day, refresh_days

# Every query here is built from these fixed fragments and bound parameters only.
_SELECT = """
    SELECT f.*, p.pseudonym, p.external_id, p.language,
           v.treatment, v.provider, v.location, v.visit_date
    FROM followups f
    JOIN patients p ON p.id = f.patient_id
    LEFT JOIN visits v ON v.id = f.visit_id
"""

# A patient who may get a follow-up message now: reachable, not stopped, and none in the
# last `gap` (the weekly cap); the parameter is the cut-off time.
_SENDABLE_PATIENT = """
    p.followups_stopped_at IS NULL AND p.blocked_at IS NULL
    AND (p.last_followup_at IS NULL OR p.last_followup_at <= ?)
"""


def _row_to_followup(row: Record) -> Followup:
    def moment(column: str) -> datetime | None:
        return from_db_time(row[column]) if row[column] else None

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
        sent_at=moment("sent_at"),
        reminded_at=moment("reminded_at"),
        attempts=row["attempts"],
    )


class SqliteFollowupStore:
    """The `FollowupStore` over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def due(self, now: datetime, gap_start: datetime, limit: int) -> list[Followup]:
        """Scheduled follow-ups that may be sent now, oldest due first."""
        at = to_db_time(now)
        async with self._db.connection.execute(
            f"{_SELECT} WHERE f.status = 'scheduled' AND f.due_at <= ? AND f.expires_at > ?"
            " AND (f.retry_at IS NULL OR f.retry_at <= ?)"
            f" AND {_SENDABLE_PATIENT} ORDER BY f.due_at, f.id LIMIT ?",
            (at, at, at, to_db_time(gap_start), limit),
        ) as cursor:
            return [_row_to_followup(row) for row in await cursor.fetchall()]

    async def reminders_due(
        self, sent_before: datetime, gap_start: datetime, limit: int
    ) -> list[Followup]:
        """Sent follow-ups still unanswered since `sent_before`, not yet reminded."""
        async with self._db.connection.execute(
            f"{_SELECT} JOIN responses r ON r.id = f.response_id"
            " WHERE f.status = 'sent' AND f.sent_at <= ? AND r.status = 'in_progress'"
            f" AND {_SENDABLE_PATIENT} ORDER BY f.sent_at, f.id LIMIT ?",
            (to_db_time(sent_before), to_db_time(gap_start), limit),
        ) as cursor:
            return [_row_to_followup(row) for row in await cursor.fetchall()]

    async def claim(self, followup: Followup, response_id: str, now: datetime) -> bool:
        """Start the follow-up's response; `False` if the patient is in another survey.

        A patient has at most one response open, so two follow-ups can never be in flight
        to the same patient at once.
        """
        at = to_db_time(now)
        async with self._db.transaction() as conn:
            # Checked inside the write transaction, so no survey can start in between.
            async with conn.execute(
                "SELECT 1 FROM responses WHERE patient_id = ? AND status = 'in_progress'",
                (followup.patient_id,),
            ) as busy:
                if await busy.fetchone() is not None:
                    return False
            cursor = await conn.execute(
                "UPDATE followups SET status = 'sending', response_id = ?,"
                " attempts = attempts + 1 WHERE id = ? AND status = 'scheduled'",
                (response_id, followup.id),
            )
            if cursor.rowcount == 0:
                return False
            await conn.execute(
                "INSERT INTO responses (id, patient_id, survey_id, status, started_at, visit_id)"
                " SELECT ?, patient_id, survey_id, 'in_progress', ?, visit_id"
                " FROM followups WHERE id = ?",
                (response_id, at, followup.id),
            )
            await count_response(conn, response_id)
        return True

    async def mark_sent(self, followup: Followup, now: datetime) -> None:
        """Telegram took the message: the weekly cap starts now."""
        await self._settle_sent(now, "f.id = ?", (followup.id,))

    async def recover_interrupted(self, now: datetime) -> int:
        """Claims a crash left behind count as sent (at most once; the reminder heals)."""
        return await self._settle_sent(now, "f.status = 'sending'", ())

    async def _settle_sent(self, now: datetime, where: str, params: tuple[object, ...]) -> int:
        at = to_db_time(now)
        async with self._db.transaction() as conn:
            patients = (
                "UPDATE patients SET last_followup_at = ? WHERE id IN"
                f" (SELECT f.patient_id FROM followups f WHERE {where})"
            )
            await conn.execute(patients, (at, *params))
            sent = f"UPDATE followups AS f SET status = 'sent', sent_at = ? WHERE {where}"
            cursor = await conn.execute(sent + " AND f.status = 'sending'", (at, *params))
            return cursor.rowcount

    async def release(self, followup: Followup, retry_at: datetime) -> None:
        """Sending failed: undo the claim and try again at `retry_at`."""
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT substr(r.started_at, 1, 10) FROM responses r"
                " JOIN followups f ON f.response_id = r.id WHERE f.id = ?",
                (followup.id,),
            ) as cursor:
                started = await cursor.fetchone()
            await conn.execute(
                "DELETE FROM responses WHERE id = (SELECT response_id FROM followups"
                " WHERE id = ?) AND NOT EXISTS"
                " (SELECT 1 FROM answers a WHERE a.response_id = responses.id)",
                (followup.id,),
            )
            if started is not None:
                await refresh_days(conn, started[0], next_day(started[0]))
            await conn.execute(
                "UPDATE followups SET status = 'scheduled', response_id = NULL, retry_at = ?"
                " WHERE id = ? AND status = 'sending'",
                (to_db_time(retry_at), followup.id),
            )

    async def claim_reminder(self, followup: Followup, now: datetime, gap_start: datetime) -> bool:
        """Take the one reminder a follow-up gets; `False` if the weekly cap forbids it now."""
        at = to_db_time(now)
        async with self._db.transaction() as conn:
            remind = (
                "UPDATE followups SET status = 'reminded', reminded_at = ?"
                " WHERE id = ? AND status = 'sent' AND EXISTS (SELECT 1 FROM patients p"
                f" WHERE p.id = followups.patient_id AND {_SENDABLE_PATIENT})"
            )
            cursor = await conn.execute(remind, (at, followup.id, to_db_time(gap_start)))
            if cursor.rowcount == 0:
                return False
            await conn.execute(
                "UPDATE patients SET last_followup_at = ? WHERE id = ?", (at, followup.patient_id)
            )
        return True

    async def block(self, followup: Followup, now: datetime) -> None:
        """The patient blocked the bot (403): stop everything for them, retry nothing."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE patients SET blocked_at = ? WHERE id = ?",
                (to_db_time(now), followup.patient_id),
            )
            await conn.execute(
                "UPDATE responses SET status = 'abandoned'"
                " WHERE id = ? AND status = 'in_progress'",
                (followup.response_id,),
            )
            await conn.execute(
                "UPDATE followups SET status = 'blocked' WHERE patient_id = ?"
                " AND status IN ('scheduled', 'sending', 'sent', 'reminded')",
                (followup.patient_id,),
            )

    async def expire(self, now: datetime, answered_by: datetime) -> int:
        """Drop what can no longer be sent in time, and what was not answered in time."""
        at = to_db_time(now)
        async with self._db.transaction() as conn:
            late = await conn.execute(
                "UPDATE followups SET status = 'expired'"
                " WHERE status = 'scheduled' AND expires_at <= ?",
                (at,),
            )
            await conn.execute(
                "UPDATE responses SET status = 'abandoned' WHERE status = 'in_progress' AND id IN"
                " (SELECT response_id FROM followups WHERE status IN ('sent', 'reminded')"
                " AND sent_at <= ?)",
                (to_db_time(answered_by),),
            )
            unanswered = await conn.execute(
                "UPDATE followups SET status = 'expired'"
                " WHERE status IN ('sent', 'reminded') AND sent_at <= ?",
                (to_db_time(answered_by),),
            )
            return late.rowcount + unanswered.rowcount

    async def stop_patient(self, external_id: int, now: datetime) -> int | None:
        """/stop: no more follow-ups; returns how many were cancelled (`None`: no patient)."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE patients SET followups_stopped_at = ? WHERE external_id = ?",
                (to_db_time(now), external_id),
            )
            if cursor.rowcount == 0:
                return None
            cursor = await conn.execute(
                "UPDATE followups SET status = 'stopped' WHERE status = 'scheduled'"
                " AND patient_id = (SELECT id FROM patients WHERE external_id = ?)",
                (external_id,),
            )
            return cursor.rowcount

    async def resume_patient(self, external_id: int) -> bool:
        """Allow follow-ups again (for visits from now on); `False` if there is no patient."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE patients SET followups_stopped_at = NULL, blocked_at = NULL"
                " WHERE external_id = ?",
                (external_id,),
            )
            return cursor.rowcount > 0

    async def counts(self) -> Counter[FollowupStatus]:
        """How many follow-ups are in each state."""
        async with self._db.connection.execute(
            "SELECT status, count(*) FROM followups GROUP BY status"
        ) as cursor:
            return Counter(
                {FollowupStatus(row[0]): int(row[1]) for row in await cursor.fetchall()}
            )

    async def listing(self, limit: int) -> list[Followup]:
        """The most relevant follow-ups for staff: open ones by due date, then the rest."""
        async with self._db.connection.execute(
            f"{_SELECT} ORDER BY f.status NOT IN ('scheduled', 'sending', 'sent', 'reminded'),"
            " f.due_at LIMIT ?",
            (limit,),
        ) as cursor:
            return [_row_to_followup(row) for row in await cursor.fetchall()]
