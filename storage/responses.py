"""Patients, responses and answers in SQLite."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import date, datetime

from bot.domain.models import (
    Answer,
    AnswerCommit,
    Invitation,
    Notice,
    OwedNotice,
    Patient,
    Response,
    ResponseStatus,
    Sentiment,
    SentimentLabel,
    Visit,
)
from bot.domain.surveys import AnswerValue
from storage.database import Database, from_db_time, to_db_time
from storage.sql import Connection, Record
from storage.totals import (
    count_answer,
    count_response,
    count_visit,
    days_of_patient,
    next_day,
    refresh_days,
)

# Crockford's alphabet: no I, L, O or U, so a pseudonym read out on the phone is unambiguous.
_PSEUDONYM_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

RESPONSE_SELECT = """
    SELECT r.id, r.patient_id, p.pseudonym, r.survey_id, r.status, r.started_at,
           r.completed_at, v.treatment, v.provider, v.location, v.visit_date,
           v.code AS invitation_code, r.asked_question, r.asked_message_id,
           p.language AS patient_language
    FROM responses r
    JOIN patients p ON p.id = r.patient_id
    LEFT JOIN visits v ON v.id = r.visit_id
"""
"""The columns `row_to_response` reads; callers add WHERE and ORDER BY."""


def new_pseudonym() -> str:
    """A random, stable-once-stored name for a patient, e.g. `P-7K3M9QX2`."""
    return "P-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(8))


def encode_value(value: AnswerValue) -> tuple[str, int | None, str | None]:
    """An answer value as (value_kind, value_int, value_text)."""
    if value is None:
        return "skipped", None, None
    if isinstance(value, bool):
        return "bool", int(value), None
    if isinstance(value, int):
        return "int", value, None
    return "text", None, value


def decode_value(kind: str, number: int | None, text: str | None) -> AnswerValue:
    """The inverse of `encode_value`."""
    if kind == "int":
        return number
    if kind == "bool":
        return bool(number)
    if kind == "text":
        return text
    return None


def row_to_answer(row: Record) -> Answer:
    """An `answers` row as a domain `Answer`."""
    sentiment = None
    if row["sentiment_label"] is not None:
        topics = tuple(t for t in (row["topics"] or "").split(",") if t)
        reasons = tuple(json.loads(row["reasons"])) if row["reasons"] else ()
        sentiment = Sentiment(
            row["polarity"], SentimentLabel(row["sentiment_label"]), topics, reasons
        )
    return Answer(
        question_id=row["question_id"],
        value=decode_value(row["value_kind"], row["value_int"], row["value_text"]),
        answered_at=from_db_time(row["answered_at"]),
        sentiment=sentiment,
    )


def row_to_visit(row: Record) -> Visit | None:
    """The visit columns of a row, if any is set."""
    fields = (row["treatment"], row["provider"], row["location"], row["visit_date"])
    if all(value is None for value in fields):
        return None
    visit_date = date.fromisoformat(row["visit_date"]) if row["visit_date"] else None
    return Visit(row["treatment"], row["provider"], row["location"], visit_date)


def row_to_response(row: Record, answers: Iterable[Answer]) -> Response:
    """A row selected with `RESPONSE_SELECT` as a domain `Response`."""
    return Response(
        id=row["id"],
        patient_id=row["patient_id"],
        patient_pseudonym=row["pseudonym"],
        survey_id=row["survey_id"],
        status=ResponseStatus(row["status"]),
        started_at=from_db_time(row["started_at"]),
        completed_at=from_db_time(row["completed_at"]) if row["completed_at"] else None,
        answers=tuple(answers),
        visit=row_to_visit(row),
        invitation_code=row["invitation_code"],
        asked_question=row["asked_question"],
        asked_message_id=row["asked_message_id"],
        patient_language=row["patient_language"],
    )


async def load_answers(connection: Connection, response_id: str) -> list[Answer]:
    """The answers of one response, in the order they were given."""
    async with connection.execute(
        "SELECT * FROM answers WHERE response_id = ? ORDER BY answered_at, question_id",
        (response_id,),
    ) as cursor:
        return [row_to_answer(row) for row in await cursor.fetchall()]


# The staff messages of alerts about to be deleted, to be edited so that they show nothing.
# The patient's messages relayed to staff, and a case's earlier copies, go the same way.
_REDACT_ALERTS = (
    "INSERT INTO staff_redactions (message_id, created_at, next_attempt_at)"
    " SELECT shown.message_id, ?, ? FROM ("
    "SELECT alert_id, message_id FROM case_staff_messages WHERE kind IN ('alert', 'patient')"
    " UNION SELECT id, staff_message_id FROM alerts WHERE staff_message_id IS NOT NULL"
    ") shown JOIN alerts a ON a.id = shown.alert_id JOIN responses r ON r.id = a.response_id"
    " JOIN patients p ON p.id = r.patient_id"
)


class SqliteResponseStore:
    """The `ResponseStore` over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @property
    def _conn(self) -> Connection:
        return self._db.connection

    async def get_patient(self, external_id: int) -> Patient | None:
        """The consented patient with this chat identity, if any."""
        async with self._conn.execute(
            "SELECT id, pseudonym, consented_at, language FROM patients WHERE external_id = ?",
            (external_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return Patient(
            row["id"], row["pseudonym"], from_db_time(row["consented_at"]), row["language"]
        )

    async def add_patient(
        self, external_id: int, now: datetime, language: str | None = None
    ) -> Patient:
        """Record consent, returning the existing patient if there is one."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO patients (external_id, pseudonym, consented_at, language)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (external_id) DO NOTHING",
                (external_id, new_pseudonym(), to_db_time(now), language),
            )
        patient = await self.get_patient(external_id)
        if patient is None:  # pragma: no cover - inserted just above
            raise RuntimeError("patient vanished after insert")
        return patient

    async def set_language(self, external_id: int, language: str) -> bool:
        """Remember the patient's language; `False` if there is no such patient."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE patients SET language = ? WHERE external_id = ?", (language, external_id)
            )
            return cursor.rowcount > 0

    async def forget_patient(self, external_id: int, now: datetime) -> bool:
        """Erase the patient and everything tied to them, leaving no copy in the WAL file.

        Staff messages that showed their answers are queued to be blanked (`now`).

        Responses, answers and alerts go with the patient (ON DELETE CASCADE); the visits
        their responses were about, and invitations they opened, are deleted first, so a
        spent code is unknown from then on.
        """
        async with self._db.transaction() as conn:
            days = await days_of_patient(conn, external_id)
            await conn.execute(
                _REDACT_ALERTS + " WHERE p.external_id = ? ON CONFLICT DO NOTHING",
                (to_db_time(now),) * 2 + (external_id,),
            )
            await conn.execute(
                "DELETE FROM visits WHERE patient_id = (SELECT id FROM patients"
                " WHERE external_id = ?) OR id IN (SELECT r.visit_id FROM responses r"
                " JOIN patients p ON p.id = r.patient_id WHERE p.external_id = ?)",
                (external_id, external_id),
            )
            cursor = await conn.execute(
                "DELETE FROM patients WHERE external_id = ?", (external_id,)
            )
            forgotten = cursor.rowcount > 0
            for day in days:
                await refresh_days(conn, day, next_day(day))
        await self._db.checkpoint()
        return forgotten

    async def open_response(self, patient_id: int) -> Response | None:
        """The patient's response in progress, if any."""
        return await self._one_response(
            "r.patient_id = ? AND r.status = 'in_progress'", (patient_id,)
        )

    async def get_response(self, response_id: str) -> Response | None:
        """A response by id, with its answers."""
        return await self._one_response("r.id = ?", (response_id,))

    async def start_response(
        self,
        patient_id: int,
        survey_id: str,
        now: datetime,
        invitation_code: str | None = None,
    ) -> Response:
        """Begin a new response, claiming the invitation it was started from, if any."""
        response_id = secrets.token_urlsafe(9)
        async with self._db.transaction() as conn:
            visit_id = None
            if invitation_code is not None:
                async with conn.execute(
                    "SELECT id FROM visits WHERE code = ?", (invitation_code,)
                ) as cursor:
                    row = await cursor.fetchone()
                if row is None:
                    raise LookupError("no such invitation")
                visit_id = row["id"]
                await conn.execute(
                    "UPDATE visits SET patient_id = ? WHERE id = ? AND patient_id IS NULL",
                    (patient_id, visit_id),
                )
            await conn.execute(
                "INSERT INTO responses (id, patient_id, survey_id, status, started_at, visit_id)"
                " VALUES (?, ?, ?, 'in_progress', ?, ?)",
                (response_id, patient_id, survey_id, to_db_time(now), visit_id),
            )
            await count_response(conn, response_id)
        response = await self.get_response(response_id)
        if response is None:  # pragma: no cover - inserted just above
            raise RuntimeError("response vanished after insert")
        return response

    async def attach_visit(self, response_id: str, visit: Visit, now: datetime) -> bool:
        """Record the visit a patient described (no invitation); `False` if it had one."""
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT survey_id, visit_id FROM responses"
                " WHERE id = ? AND status = 'in_progress'",
                (response_id,),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None or row["visit_id"] is not None:
                return False
            async with conn.execute(
                "INSERT INTO visits (survey_id, treatment, provider, location, visit_date,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    row["survey_id"],
                    visit.treatment,
                    visit.provider,
                    visit.location,
                    visit.date.isoformat() if visit.date else None,
                    to_db_time(now),
                ),
            ) as cursor:
                visit_row = await cursor.fetchone()
            if visit_row is None:  # pragma: no cover - RETURNING gives the row just inserted
                raise RuntimeError("visit vanished after insert")
            await conn.execute(
                # ... and the first question is owed now (see `patients_owed_a_question`).
                "UPDATE responses SET visit_id = ?, asked_question = NULL, asked_message_id = NULL"
                " WHERE id = ?",
                (visit_row["id"], response_id),
            )
            await count_visit(conn, response_id)
        return True

    async def create_invitation(self, invitation: Invitation) -> None:
        """Store a new invitation code."""
        visit = invitation.visit
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO visits (code, survey_id, treatment, provider, location, visit_date,"
                " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    invitation.code,
                    invitation.survey_id,
                    visit.treatment,
                    visit.provider,
                    visit.location,
                    visit.date.isoformat() if visit.date else None,
                    to_db_time(invitation.created_at),
                    to_db_time(invitation.expires_at),
                ),
            )

    async def get_invitation(self, code: str) -> Invitation | None:
        """The invitation with this code, if there is one."""
        async with self._conn.execute("SELECT * FROM visits WHERE code = ?", (code,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        visit = row_to_visit(row) or Visit(None)
        return Invitation(
            code=row["code"],
            survey_id=row["survey_id"],
            visit=visit,
            created_at=from_db_time(row["created_at"]),
            expires_at=from_db_time(row["expires_at"]),
            patient_id=row["patient_id"],
            used=row["used_at"] is not None,
        )

    async def commit_answer(self, commit: AnswerCommit) -> bool:
        """Store an answer with its alert and completion in one transaction."""
        answer = commit.answer
        kind, number, text = encode_value(answer.value)
        sentiment = answer.sentiment
        now = to_db_time(answer.answered_at)
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT status FROM responses WHERE id = ?", (commit.response_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None or row["status"] != ResponseStatus.IN_PROGRESS:
                return False
            # A second answer to the same question (a redelivered update) stores nothing.
            stored = await conn.execute(
                "INSERT INTO answers (response_id, question_id, value_kind, value_int,"
                " value_text, answered_at, polarity, sentiment_label, topics, reasons)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    commit.response_id,
                    answer.question_id,
                    kind,
                    number,
                    text,
                    now,
                    sentiment.polarity if sentiment else None,
                    sentiment.label.value if sentiment else None,
                    ",".join(sentiment.topics) if sentiment else None,
                    json.dumps(list(sentiment.reasons)) if sentiment else None,
                ),
            )
            if stored.rowcount == 0:
                return False
            if not commit.completes:
                # The next question is owed until it is delivered (see `patients_owed_a_question`).
                await conn.execute(
                    "UPDATE responses SET asked_question = NULL, asked_message_id = NULL"
                    " WHERE id = ?",
                    (commit.response_id,),
                )
            if commit.completes:
                await conn.execute(
                    "UPDATE responses SET status = 'completed', completed_at = ? WHERE id = ?",
                    (now, commit.response_id),
                )
                # A completed response spends the invitation it came from.
                await conn.execute(
                    "UPDATE visits SET used_at = ? WHERE code IS NOT NULL AND id ="
                    " (SELECT visit_id FROM responses WHERE id = ?)",
                    (now, commit.response_id),
                )
                # ... answers the follow-up it was sent as, if it was one ...
                await conn.execute(
                    "UPDATE followups SET status = 'answered'"
                    " WHERE response_id = ? AND status IN ('sent', 'reminded', 'sending')",
                    (commit.response_id,),
                )
                # ... and schedules the next ones (stopped at once if the patient said /stop).
                await conn.executemany(
                    "INSERT INTO followups (patient_id, source_response_id, survey_id,"
                    " visit_id, due_at, expires_at, status)"
                    " SELECT r.patient_id, r.id, ?, r.visit_id, ?, ?,"
                    " CASE WHEN p.followups_stopped_at IS NULL AND p.blocked_at IS NULL"
                    " THEN 'scheduled' ELSE 'stopped' END"
                    " FROM responses r JOIN patients p ON p.id = r.patient_id WHERE r.id = ?"
                    " ON CONFLICT DO NOTHING",
                    [
                        (
                            f.survey_id,
                            to_db_time(f.due_at),
                            to_db_time(f.expires_at),
                            commit.response_id,
                        )
                        for f in commit.followups
                    ],
                )
            await conn.executemany(
                "INSERT INTO patient_notices (response_id, kind, created_at, next_attempt_at)"
                " VALUES (?, ?, ?, ?)",
                [(commit.response_id, notice.value, now, now) for notice in commit.notices],
            )
            if commit.alert_reasons:
                await conn.execute(
                    "INSERT INTO alerts (response_id, reasons, created_at, case_opened_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (response_id) DO UPDATE"
                    " SET reasons = excluded.reasons, version = alerts.version + 1",
                    (commit.response_id, ",".join(commit.alert_reasons), now, now),
                )
            if commit.dedup_key is not None:
                await conn.execute(
                    "INSERT INTO handled_events (event_key, handled_at) VALUES (?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (commit.dedup_key, now),
                )
            await count_answer(
                conn, commit.response_id, answer.question_id, completes=commit.completes
            )
        return True

    async def patients_owed_a_question(self, answered_since: datetime) -> list[int]:
        """Telegram ids of patients whose survey's next question was never delivered.

        Only surveys in progress, last answered since `answered_since`.
        """
        async with self._conn.execute(
            "SELECT p.external_id FROM responses r"
            " JOIN patients p ON p.id = r.patient_id"
            " WHERE r.status = 'in_progress' AND r.asked_question IS NULL"
            " AND p.blocked_at IS NULL"
            " AND (SELECT max(a.answered_at) FROM answers a WHERE a.response_id = r.id) >= ?",
            (to_db_time(answered_since),),
        ) as cursor:
            return [row[0] for row in await cursor.fetchall()]

    async def mark_asked(self, response_id: str, question_id: str, message_id: int | None) -> None:
        """Record that this question reached the patient, as this Telegram message."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE responses SET asked_question = ?, asked_message_id = ? WHERE id = ?",
                (question_id, message_id, response_id),
            )

    async def owed_notices(
        self, *, due_by: datetime, external_id: int | None = None
    ) -> list[OwedNotice]:
        """Notices due by `due_by` (for one patient, or everyone), oldest first."""
        async with self._conn.execute(
            "SELECT n.id, n.kind, n.created_at, n.failed_attempts, p.external_id, p.language,"
            " m.body FROM patient_notices n JOIN responses r ON r.id = n.response_id"
            " JOIN patients p ON p.id = r.patient_id"
            " LEFT JOIN case_messages m ON m.id = n.case_message_id"
            " WHERE n.next_attempt_at <= ?"
            " AND (CAST(? AS BIGINT) IS NULL OR p.external_id = ?) ORDER BY n.id",
            (to_db_time(due_by), external_id, external_id),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            OwedNotice(
                id=row["id"],
                external_id=row["external_id"],
                chosen_language=row["language"],
                kind=Notice(row["kind"]),
                created_at=from_db_time(row["created_at"]),
                failed_attempts=row["failed_attempts"],
                body=row["body"],
            )
            for row in rows
        ]

    async def notice_done(self, notice_id: int, now: datetime, *, arrived: bool) -> None:
        """The notice was delivered (`arrived`), or never will be: forget it.

        A staff reply's case records which, in the same transaction; once one arrives, the
        patient's next message is for staff.
        """
        async with self._db.transaction() as conn:
            if arrived:
                await conn.execute(
                    "UPDATE alerts SET awaiting_patient = 1 WHERE resolved_at IS NULL AND id ="
                    " (SELECT m.alert_id FROM patient_notices n"
                    " JOIN case_messages m ON m.id = n.case_message_id WHERE n.id = ?)",
                    (notice_id,),
                )
            cursor = await conn.execute(
                "UPDATE case_messages SET delivered_at = ?, failed = ? WHERE id ="
                " (SELECT case_message_id FROM patient_notices WHERE id = ?)",
                (to_db_time(now) if arrived else None, int(not arrived), notice_id),
            )
            if cursor.rowcount:
                # Staff see on the alert whether their reply arrived.
                await conn.execute(
                    "UPDATE alerts SET version = version + 1 WHERE id ="
                    " (SELECT m.alert_id FROM patient_notices n"
                    " JOIN case_messages m ON m.id = n.case_message_id WHERE n.id = ?)",
                    (notice_id,),
                )
            await conn.execute("DELETE FROM patient_notices WHERE id = ?", (notice_id,))

    async def postpone_notice(self, notice_id: int, until: datetime, failed_attempts: int) -> None:
        """Try the notice again at `until`, after this many failures in a row."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE patient_notices SET next_attempt_at = ?, failed_attempts = ? WHERE id = ?",
                (to_db_time(until), failed_attempts, notice_id),
            )

    async def abandon(self, response_id: str) -> bool:
        """Mark a response in progress as abandoned, keeping its answers.

        Returns whether the response had an alert, which now needs updating for staff.
        """
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE responses SET status = 'abandoned'"
                " WHERE id = ? AND status = 'in_progress'",
                (response_id,),
            )
            cursor = await conn.execute(
                "UPDATE alerts SET version = version + 1 WHERE response_id = ?", (response_id,)
            )
            return cursor.rowcount > 0

    async def seen(self, dedup_key: int) -> bool:
        """Whether an event with this key was already handled."""
        async with self._conn.execute(
            "SELECT 1 FROM handled_events WHERE event_key = ?", (dedup_key,)
        ) as cursor:
            return await cursor.fetchone() is not None

    async def mark_seen(self, dedup_key: int, now: datetime) -> None:
        """Remember that an event with this key was handled; its stored copy goes."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO handled_events (event_key, handled_at) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (dedup_key, to_db_time(now)),
            )
            await conn.execute("DELETE FROM inbox WHERE update_id = ?", (dedup_key,))

    async def purge_before(self, cutoff: datetime, now: datetime) -> int:
        """Delete responses started before `cutoff`, and patients left with nothing.

        Staff messages that showed their answers are queued to be blanked (`now`).

        Answers and alerts go with their response (ON DELETE CASCADE). Returns how many
        responses were deleted.
        """
        moment = to_db_time(cutoff)
        async with self._db.transaction() as conn:
            await conn.execute(
                _REDACT_ALERTS + " WHERE r.started_at < ? ON CONFLICT DO NOTHING",
                (to_db_time(now),) * 2 + (moment,),
            )
            cursor = await conn.execute("DELETE FROM responses WHERE started_at < ?", (moment,))
            deleted = cursor.rowcount
            # Every day before the cutoff's goes; the cutoff's own day keeps what is left.
            await refresh_days(conn, "", next_day(moment[:10]))
            await conn.execute(
                "DELETE FROM patients WHERE consented_at < ?"
                " AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.patient_id = patients.id)",
                (moment,),
            )
            # Visits go when no response refers to them any more and, for invitations, once
            # they could no longer be used anyway.
            await conn.execute(
                "DELETE FROM visits WHERE created_at < ?"
                " AND (code IS NULL OR expires_at < ?)"
                " AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.visit_id = visits.id)",
                (moment, moment),
            )
        return deleted

    async def forget_events_before(self, cutoff: datetime) -> int:
        """Drop old event keys: Telegram never redelivers an update after a day."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM handled_events WHERE handled_at < ?", (to_db_time(cutoff),)
            )
            # And updates stored but never handled by then (a crash loop): Telegram's own
            # copy is long gone, and this one holds patient text.
            await conn.execute("DELETE FROM inbox WHERE received_at < ?", (to_db_time(cutoff),))
            return cursor.rowcount

    async def _one_response(self, where: str, params: tuple[object, ...]) -> Response | None:
        async with self._conn.execute(
            f"{RESPONSE_SELECT} WHERE {where}",
            params,
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return row_to_response(row, await load_answers(self._conn, row["id"]))
