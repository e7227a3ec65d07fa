"""Patients, responses and answers in SQLite."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Select,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union,
    update,
)

from bot.domain.models import (
    Answer,
    AnswerCommit,
    Invitation,
    Notice,
    OwedNotice,
    Patient,
    Response,
    ResponseStatus,
    ScheduledFollowup,
    Sentiment,
    SentimentLabel,
    Visit,
)
from bot.domain.surveys import AnswerValue
from storage.database import Database, from_db_time, to_db_time
from storage.schema import (
    Int,
    alerts,
    answers,
    case_messages,
    case_staff_messages,
    followups,
    handled_events,
    inbox,
    patient_links,
    patient_notices,
    patients,
    responses,
    staff_redactions,
    visit_events,
    visits,
)
from storage.sql import Columns, Connection, dialect_insert
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

RESPONSE_COLUMNS = (
    responses.c.id,
    responses.c.patient_id,
    patients.c.pseudonym,
    responses.c.survey_id,
    responses.c.status,
    responses.c.started_at,
    responses.c.completed_at,
    visits.c.treatment,
    visits.c.provider,
    visits.c.location,
    visits.c.visit_date,
    visits.c.code.label("invitation_code"),
    responses.c.asked_question,
    responses.c.asked_message_id,
    patients.c.language.label("patient_language"),
)
"""The columns `row_to_response` reads."""
RESPONSES_WITH_PATIENTS = responses.join(
    patients, patients.c.id == responses.c.patient_id
).outerjoin(visits, visits.c.id == responses.c.visit_id)
"""Where they come from; callers add WHERE and ORDER BY."""


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


def row_to_answer(row: Columns) -> Answer:
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


def row_to_visit(row: Columns) -> Visit | None:
    """The visit columns of a row, if any is set."""
    fields = (row["treatment"], row["provider"], row["location"], row["visit_date"])
    if all(value is None for value in fields):
        return None
    visit_date = date.fromisoformat(row["visit_date"]) if row["visit_date"] else None
    return Visit(row["treatment"], row["provider"], row["location"], visit_date)


def row_to_response(row: Columns, answers: Iterable[Answer]) -> Response:
    """A row of `RESPONSE_COLUMNS` as a domain `Response`."""
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


def invitation_row(invitation: Invitation) -> dict[str, object]:
    """An invitation as the `visits` row that holds it."""
    visit = invitation.visit
    return {
        "code": invitation.code,
        "survey_id": invitation.survey_id,
        "treatment": visit.treatment,
        "provider": visit.provider,
        "location": visit.location,
        "visit_date": visit.date.isoformat() if visit.date else None,
        "created_at": to_db_time(invitation.created_at),
        "expires_at": to_db_time(invitation.expires_at),
    }


def row_to_invitation(row: Columns) -> Invitation:
    """A `visits` row with a code as the invitation it holds."""
    return Invitation(
        code=row["code"],
        survey_id=row["survey_id"],
        visit=row_to_visit(row) or Visit(None),
        created_at=from_db_time(row["created_at"]),
        expires_at=from_db_time(row["expires_at"]),
        patient_id=row["patient_id"],
        used=row["used_at"] is not None,
    )


_ANSWERS_OF_RESPONSE = (
    select(answers)
    .where(answers.c.response_id == bindparam("response_id"))
    .order_by(answers.c.answered_at, answers.c.question_id)
)


async def load_answers(connection: Connection, response_id: str) -> list[Answer]:
    """The answers of one response, in the order they were given."""
    rows = await connection.rows(_ANSWERS_OF_RESPONSE, {"response_id": response_id})
    return [row_to_answer(row._mapping) for row in rows]


# The staff messages that showed a patient's words: alerts, their earlier copies and the
# patient's messages relayed to staff.
_SHOWN_TO_STAFF = union(
    select(case_staff_messages.c.alert_id, case_staff_messages.c.message_id).where(
        case_staff_messages.c.kind.in_(("alert", "patient"))
    ),
    select(alerts.c.id, alerts.c.staff_message_id).where(alerts.c.staff_message_id.is_not(None)),
).subquery("shown")


def _redact_alerts(conn: Connection, which: ColumnElement[bool], now: datetime) -> Executable:
    """Queue the staff messages of the responses `which` selects to be blanked.

    For alerts about to be deleted: edited, they show nothing.
    """
    moment = to_db_time(now)
    shown = (
        select(_SHOWN_TO_STAFF.c.message_id, literal(moment), literal(moment))
        .select_from(
            _SHOWN_TO_STAFF.join(alerts, alerts.c.id == _SHOWN_TO_STAFF.c.alert_id)
            .join(responses, responses.c.id == alerts.c.response_id)
            .join(patients, patients.c.id == responses.c.patient_id)
        )
        .where(which)
    )
    return (
        conn.insert(staff_redactions)
        .from_select(["message_id", "created_at", "next_attempt_at"], shown)
        .on_conflict_do_nothing()
    )


_PATIENT_BY_CHAT = select(
    patients.c.id, patients.c.pseudonym, patients.c.consented_at, patients.c.language
).where(patients.c.external_id == bindparam("external_id"))
_OPEN_RESPONSE = (
    select(*RESPONSE_COLUMNS)
    .select_from(RESPONSES_WITH_PATIENTS)
    .where(responses.c.patient_id == bindparam("patient_id"), responses.c.status == "in_progress")
)
_RESPONSE_BY_ID = (
    select(*RESPONSE_COLUMNS)
    .select_from(RESPONSES_WITH_PATIENTS)
    .where(responses.c.id == bindparam("response_id"))
)
_STATUS = select(responses.c.status).where(responses.c.id == bindparam("response_id"))
_ASKED = (
    update(responses)
    .where(responses.c.id == bindparam("response_id"))
    .values(asked_question=bindparam("question_id"), asked_message_id=bindparam("message_id"))
)
_OWE_NOTICES = insert(patient_notices)
_NEXT_OWED = (
    update(responses)
    .where(responses.c.id == bindparam("response_id"))
    .values(asked_question=None, asked_message_id=None)
)
_COMPLETED = (
    update(responses)
    .where(responses.c.id == bindparam("response_id"))
    .values(status="completed", completed_at=bindparam("done_at"))
)
_SEEN = select(literal(1)).where(handled_events.c.event_key == bindparam("event_key"))
_FORGET_INBOXED = delete(inbox).where(inbox.c.update_id == bindparam("update_id"))
# The alert of the case whose staff reply a notice carries.
_NOTICE_ALERT = (
    select(case_messages.c.alert_id)
    .select_from(
        patient_notices.join(
            case_messages, case_messages.c.id == patient_notices.c.case_message_id
        )
    )
    .where(patient_notices.c.id == bindparam("notice_id"))
    .scalar_subquery()
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
        row = await self._conn.first(_PATIENT_BY_CHAT, {"external_id": external_id})
        if row is None:
            return None
        return Patient(row.id, row.pseudonym, from_db_time(row.consented_at), row.language)

    async def add_patient(
        self, external_id: int, now: datetime, language: str | None = None
    ) -> Patient:
        """Record consent, returning the existing patient if there is one."""
        async with self._db.transaction() as conn:
            await conn.run(
                conn.insert(patients)
                .values(
                    external_id=external_id,
                    pseudonym=new_pseudonym(),
                    consented_at=to_db_time(now),
                    language=language,
                )
                .on_conflict_do_nothing(index_elements=[patients.c.external_id])
            )
        patient = await self.get_patient(external_id)
        if patient is None:  # pragma: no cover - inserted just above
            raise RuntimeError("patient vanished after insert")
        return patient

    async def set_language(self, external_id: int, language: str) -> bool:
        """Remember the patient's language; `False` if there is no such patient."""
        async with self._db.transaction() as conn:
            changed = await conn.run(
                update(patients)
                .where(patients.c.external_id == external_id)
                .values(language=language)
            )
            return changed > 0

    async def forget_patient(self, external_id: int, now: datetime) -> bool:
        """Erase the patient and everything tied to them, leaving no copy in the WAL file.

        Staff messages that showed their answers are queued to be blanked (`now`).

        Responses, answers and alerts go with the patient (ON DELETE CASCADE); the visits
        their responses were about, and invitations they opened, are deleted first, so a
        spent code is unknown from then on.
        """
        patient = select(patients.c.id).where(patients.c.external_id == external_id)
        async with self._db.transaction() as conn:
            days = await days_of_patient(conn, external_id)
            await conn.run(_redact_alerts(conn, patients.c.external_id == external_id, now))
            await conn.run(
                delete(visits).where(
                    or_(
                        visits.c.patient_id == patient.scalar_subquery(),
                        visits.c.id.in_(
                            select(responses.c.visit_id).where(responses.c.patient_id.in_(patient))
                        ),
                        # Visits the bot was yet to ask them about in Telegram.
                        visits.c.id.in_(
                            select(followups.c.visit_id).where(
                                followups.c.patient_id.in_(patient),
                                followups.c.source_response_id.is_(None),
                            )
                        ),
                    )
                )
            )
            forgotten = await conn.run(
                delete(patients).where(patients.c.external_id == external_id)
            )
            for day in days:
                await refresh_days(conn, day, next_day(day))
        await self._db.checkpoint()
        return forgotten > 0

    async def open_response(self, patient_id: int) -> Response | None:
        """The patient's response in progress, if any."""
        return await self._one_response(_OPEN_RESPONSE, {"patient_id": patient_id})

    async def get_response(self, response_id: str) -> Response | None:
        """A response by id, with its answers."""
        return await self._one_response(_RESPONSE_BY_ID, {"response_id": response_id})

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
                visit_id = await conn.scalar(
                    select(visits.c.id).where(visits.c.code == invitation_code)
                )
                if visit_id is None:
                    raise LookupError("no such invitation")
                await conn.run(
                    update(visits)
                    .where(visits.c.id == visit_id, visits.c.patient_id.is_(None))
                    .values(patient_id=patient_id)
                )
                await _link_booking_patient(conn, visit_id, patient_id, to_db_time(now))
            await conn.run(
                insert(responses).values(
                    id=response_id,
                    patient_id=patient_id,
                    survey_id=survey_id,
                    status="in_progress",
                    started_at=to_db_time(now),
                    visit_id=visit_id,
                )
            )
            await count_response(conn, response_id)
        response = await self.get_response(response_id)
        if response is None:  # pragma: no cover - inserted just above
            raise RuntimeError("response vanished after insert")
        return response

    async def attach_visit(self, response_id: str, visit: Visit, now: datetime) -> bool:
        """Record the visit a patient described (no invitation); `False` if it had one."""
        async with self._db.transaction() as conn:
            row = await conn.first(
                select(responses.c.survey_id, responses.c.visit_id).where(
                    responses.c.id == response_id, responses.c.status == "in_progress"
                )
            )
            if row is None or row.visit_id is not None:
                return False
            visit_id = await conn.scalar(
                insert(visits)
                .values(
                    survey_id=row.survey_id,
                    treatment=visit.treatment,
                    provider=visit.provider,
                    location=visit.location,
                    visit_date=visit.date.isoformat() if visit.date else None,
                    created_at=to_db_time(now),
                )
                .returning(visits.c.id)
            )
            if visit_id is None:  # pragma: no cover - RETURNING gives the row just inserted
                raise RuntimeError("visit vanished after insert")
            await conn.run(
                # ... and the first question is owed now (see `patients_owed_a_question`).
                update(responses)
                .where(responses.c.id == response_id)
                .values(visit_id=visit_id, asked_question=None, asked_message_id=None)
            )
            await count_visit(conn, response_id)
        return True

    async def create_invitation(self, invitation: Invitation) -> None:
        """Store a new invitation code."""
        async with self._db.transaction() as conn:
            await conn.run(insert(visits).values(invitation_row(invitation)))

    async def get_invitation(self, code: str) -> Invitation | None:
        """The invitation with this code, if there is one."""
        row = await self._conn.first(select(visits).where(visits.c.code == code))
        return None if row is None else row_to_invitation(row._mapping)

    async def links_booking_patient(self, code: str) -> bool:
        """Whether the invitation was made for a visit a booking system named the patient of."""
        linked = await self._conn.scalar(
            select(
                exists().where(
                    visit_events.c.visit_id == visits.c.id,
                    visit_events.c.patient_ref.is_not(None),
                )
            ).where(visits.c.code == code)
        )
        return bool(linked)

    async def commit_answer(self, commit: AnswerCommit) -> bool:
        """Store an answer with its alert and completion in one transaction."""
        answer = commit.answer
        kind, number, text = encode_value(answer.value)
        sentiment = answer.sentiment
        now = to_db_time(answer.answered_at)
        response_id = commit.response_id
        this_response = responses.c.id == response_id
        async with self._db.transaction() as conn:
            status = await conn.scalar(_STATUS, {"response_id": response_id})
            if status != ResponseStatus.IN_PROGRESS:
                return False
            stored = await conn.run(
                _answer_insert(conn.dialect),
                {
                    "response_id": response_id,
                    "question_id": answer.question_id,
                    "value_kind": kind,
                    "value_int": number,
                    "value_text": text,
                    "answered_at": now,
                    "polarity": sentiment.polarity if sentiment else None,
                    "sentiment_label": sentiment.label.value if sentiment else None,
                    "topics": ",".join(sentiment.topics) if sentiment else None,
                    "reasons": json.dumps(list(sentiment.reasons)) if sentiment else None,
                },
            )
            if stored == 0:
                return False
            if not commit.completes:
                # The next question is owed until it is delivered (see `patients_owed_a_question`).
                await conn.run(_NEXT_OWED, {"response_id": response_id})
            if commit.completes:
                await conn.run(_COMPLETED, {"response_id": response_id, "done_at": now})
                if commit.spends_invitation:
                    await conn.run(
                        update(visits)
                        .where(
                            visits.c.id
                            == select(responses.c.visit_id).where(this_response).scalar_subquery(),
                            visits.c.used_at.is_(None),  # spent once, when it was first
                        )
                        .values(used_at=now)
                    )
                # ... answers the follow-up it was sent as, if it was one ...
                await conn.run(
                    update(followups)
                    .where(
                        followups.c.response_id == response_id,
                        followups.c.status.in_(("sent", "reminded", "sending")),
                    )
                    .values(status="answered")
                )
                # ... and schedules the next ones (stopped at once if the patient said /stop).
                for followup in commit.followups:
                    await conn.run(_schedule_followup(conn, response_id, followup))
            await conn.run(
                _OWE_NOTICES,
                [
                    {
                        "response_id": response_id,
                        "kind": notice.value,
                        "created_at": now,
                        "next_attempt_at": now,
                    }
                    for notice in commit.notices
                ],
            )
            if commit.alert_reasons:
                alert = conn.insert(alerts).values(
                    response_id=response_id,
                    reasons=",".join(commit.alert_reasons),
                    created_at=now,
                    case_opened_at=now,
                )
                await conn.run(
                    alert.on_conflict_do_update(
                        index_elements=[alerts.c.response_id],
                        set_={"reasons": alert.excluded.reasons, "version": alerts.c.version + 1},
                    )
                )
            if commit.dedup_key is not None:
                await remember_handled(conn, commit.dedup_key, now)
            await count_answer(conn, response_id, answer.question_id, completes=commit.completes)
        return True

    async def patients_owed_a_question(self, answered_since: datetime) -> list[int]:
        """Telegram ids of patients whose survey's next question was never delivered.

        Only surveys in progress, last answered since `answered_since`.
        """
        last_answered = (
            select(func.max(answers.c.answered_at))
            .where(answers.c.response_id == responses.c.id)
            .scalar_subquery()
        )
        rows = await self._conn.rows(
            select(patients.c.external_id)
            .select_from(responses.join(patients, patients.c.id == responses.c.patient_id))
            .where(
                responses.c.status == "in_progress",
                responses.c.asked_question.is_(None),
                patients.c.blocked_at.is_(None),
                last_answered >= to_db_time(answered_since),
            )
        )
        return [row.external_id for row in rows]

    async def mark_asked(self, response_id: str, question_id: str, message_id: int | None) -> None:
        """Record that this question reached the patient, as this Telegram message."""
        async with self._db.transaction() as conn:
            await conn.run(
                _ASKED,
                {"response_id": response_id, "question_id": question_id, "message_id": message_id},
            )

    async def owed_notices(
        self, *, due_by: datetime, external_id: int | None = None
    ) -> list[OwedNotice]:
        """Notices due by `due_by` (for one patient, or everyone), oldest first."""
        query = (
            select(
                patient_notices.c.id,
                patient_notices.c.kind,
                patient_notices.c.created_at,
                patient_notices.c.failed_attempts,
                patients.c.external_id,
                patients.c.language,
                case_messages.c.body,
            )
            .select_from(
                patient_notices.join(responses, responses.c.id == patient_notices.c.response_id)
                .join(patients, patients.c.id == responses.c.patient_id)
                .outerjoin(case_messages, case_messages.c.id == patient_notices.c.case_message_id)
            )
            .where(patient_notices.c.next_attempt_at <= to_db_time(due_by))
            .order_by(patient_notices.c.id)
        )
        if external_id is not None:
            query = query.where(patients.c.external_id == external_id)
        return [
            OwedNotice(
                id=row.id,
                external_id=row.external_id,
                chosen_language=row.language,
                kind=Notice(row.kind),
                created_at=from_db_time(row.created_at),
                failed_attempts=row.failed_attempts,
                body=row.body,
            )
            for row in await self._conn.rows(query)
        ]

    async def notice_done(self, notice_id: int, now: datetime, *, arrived: bool) -> None:
        """The notice was delivered (`arrived`), or never will be: forget it.

        A staff reply's case records which, in the same transaction; once one arrives, the
        patient's next message is for staff.
        """
        ids = {"notice_id": notice_id}
        async with self._db.transaction() as conn:
            if arrived:
                await conn.run(
                    update(alerts)
                    .where(alerts.c.resolved_at.is_(None), alerts.c.id == _NOTICE_ALERT)
                    .values(awaiting_patient=1),
                    ids,
                )
            recorded = await conn.run(
                update(case_messages)
                .where(
                    case_messages.c.id
                    == select(patient_notices.c.case_message_id)
                    .where(patient_notices.c.id == notice_id)
                    .scalar_subquery()
                )
                .values(delivered_at=to_db_time(now) if arrived else None, failed=int(not arrived))
            )
            if recorded:
                # Staff see on the alert whether their reply arrived.
                await conn.run(
                    update(alerts)
                    .where(alerts.c.id == _NOTICE_ALERT)
                    .values(version=alerts.c.version + 1),
                    ids,
                )
            await conn.run(delete(patient_notices).where(patient_notices.c.id == notice_id))

    async def postpone_notice(self, notice_id: int, until: datetime, failed_attempts: int) -> None:
        """Try the notice again at `until`, after this many failures in a row."""
        async with self._db.transaction() as conn:
            await conn.run(
                update(patient_notices)
                .where(patient_notices.c.id == notice_id)
                .values(next_attempt_at=to_db_time(until), failed_attempts=failed_attempts)
            )

    async def abandon(self, response_id: str) -> bool:
        """Mark a response in progress as abandoned, keeping its answers.

        Returns whether the response had an alert, which now needs updating for staff.
        """
        async with self._db.transaction() as conn:
            await conn.run(
                update(responses)
                .where(responses.c.id == response_id, responses.c.status == "in_progress")
                .values(status="abandoned")
            )
            changed = await conn.run(
                update(alerts)
                .where(alerts.c.response_id == response_id)
                .values(version=alerts.c.version + 1)
            )
            return changed > 0

    async def seen(self, dedup_key: int) -> bool:
        """Whether an event with this key was already handled."""
        return await self._conn.first(_SEEN, {"event_key": dedup_key}) is not None

    async def mark_seen(self, dedup_key: int, now: datetime) -> None:
        """Remember that an event with this key was handled; its stored copy goes."""
        async with self._db.transaction() as conn:
            await remember_handled(conn, dedup_key, to_db_time(now))
            await conn.run(_FORGET_INBOXED, {"update_id": dedup_key})

    async def purge_before(self, cutoff: datetime, now: datetime) -> int:
        """Delete responses started before `cutoff`, and patients left with nothing.

        Staff messages that showed their answers are queued to be blanked (`now`).

        Answers and alerts go with their response (ON DELETE CASCADE). Returns how many
        responses were deleted.
        """
        moment = to_db_time(cutoff)
        async with self._db.transaction() as conn:
            await conn.run(_redact_alerts(conn, responses.c.started_at < moment, now))
            deleted = await conn.run(delete(responses).where(responses.c.started_at < moment))
            # Every day before the cutoff's goes; the cutoff's own day keeps what is left.
            await refresh_days(conn, "", next_day(moment[:10]))
            await conn.run(
                delete(patients).where(
                    patients.c.consented_at < moment,
                    ~exists().where(responses.c.patient_id == patients.c.id),
                )
            )
            # A link not renewed by a visit within the retention period goes too.
            await conn.run(delete(patient_links).where(patient_links.c.linked_at < moment))
            # Visits go when no response refers to them any more and, for invitations, once
            # they could no longer be used anyway.
            await conn.run(
                delete(visits).where(
                    visits.c.created_at < moment,
                    or_(visits.c.code.is_(None), visits.c.expires_at < moment),
                    ~exists().where(responses.c.visit_id == visits.c.id),
                )
            )
        if deleted:
            await self._db.checkpoint()
        return deleted

    async def forget_events_before(self, cutoff: datetime) -> int:
        """Drop old event keys: Telegram never redelivers an update after a day."""
        moment = to_db_time(cutoff)
        async with self._db.transaction() as conn:
            forgotten = await conn.run(
                delete(handled_events).where(handled_events.c.handled_at < moment)
            )
            # And updates stored but never handled by then (a crash loop): Telegram's own
            # copy is long gone, and this one holds patient text.
            await conn.run(delete(inbox).where(inbox.c.received_at < moment))
            return forgotten

    async def _one_response(
        self, query: Select[Any], values: dict[str, object]
    ) -> Response | None:
        row = await self._conn.first(query, values)
        if row is None:
            return None
        return row_to_response(row._mapping, await load_answers(self._conn, row.id))


@lru_cache(maxsize=2)
async def _link_booking_patient(
    conn: Connection, visit_id: int, patient_id: int, moment: str
) -> None:
    """A booking system's invitation, opened and agreed to: its next visits come here."""
    linking = conn.insert(patient_links).from_select(
        ["source", "patient_ref", "patient_id", "linked_at"],
        select(
            visit_events.c.source,
            visit_events.c.patient_ref,
            literal(patient_id, Int),
            literal(moment),
        ).where(visit_events.c.visit_id == visit_id, visit_events.c.patient_ref.is_not(None)),
    )
    await conn.run(
        linking.on_conflict_do_update(
            index_elements=[patient_links.c.source, patient_links.c.patient_ref],
            set_={"patient_id": linking.excluded.patient_id, "linked_at": moment},
        )
    )


def _handled_insert(dialect: str) -> Executable:
    return dialect_insert(dialect, handled_events).on_conflict_do_nothing()


async def remember_handled(conn: Connection, event_key: int, moment: str) -> None:
    """Remember an event as handled (once: a second time changes nothing)."""
    await conn.run(_handled_insert(conn.dialect), {"event_key": event_key, "handled_at": moment})


@lru_cache(maxsize=2)
def _answer_insert(dialect: str) -> Executable:
    # A second answer to the same question (a redelivered update) stores nothing.
    return dialect_insert(dialect, answers).on_conflict_do_nothing()


def _schedule_followup(
    conn: Connection, response_id: str, followup: ScheduledFollowup
) -> Executable:
    """Schedule a follow-up of a completed response (stopped at once after /stop)."""
    stopped = patients.c.followups_stopped_at.is_not(None) | patients.c.blocked_at.is_not(None)
    source = (
        select(
            responses.c.patient_id,
            responses.c.id,
            literal(followup.survey_id),
            responses.c.visit_id,
            literal(to_db_time(followup.due_at)),
            literal(to_db_time(followup.expires_at)),
            case((stopped, "stopped"), else_="scheduled"),
        )
        .select_from(responses.join(patients, patients.c.id == responses.c.patient_id))
        .where(responses.c.id == response_id)
    )
    return (
        conn.insert(followups)
        .from_select(
            [
                "patient_id",
                "source_response_id",
                "survey_id",
                "visit_id",
                "due_at",
                "expires_at",
                "status",
            ],
            source,
        )
        .on_conflict_do_nothing()
    )
