"""Staff alerts in SQLite (written by `SqliteResponseStore.commit_answer`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Text,
    bindparam,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    update,
)

from bot.domain.models import (
    AlertReason,
    CaseDelivery,
    CaseDirection,
    CaseListing,
    CaseMessage,
    CaseState,
    CaseView,
    PatientRelay,
    PendingAlert,
    Redaction,
)
from storage.database import Database, from_db_time, to_db_time
from storage.responses import SqliteResponseStore
from storage.schema import (
    alerts,
    case_messages,
    case_staff_messages,
    patients,
    responses,
    staff_redactions,
)
from storage.sql import StoredRow

_CONVERSATION = (
    select(
        case_messages.c.direction,
        case_messages.c.body,
        case_messages.c.author_name,
        case_messages.c.created_at,
        case_messages.c.delivered_at,
        case_messages.c.failed,
    )
    .where(case_messages.c.alert_id == bindparam("alert_id"))
    .order_by(case_messages.c.id)
)


def _due(column: ColumnElement[str | None], due_by: datetime | None) -> ColumnElement[bool]:
    """Due by `due_by` (everything, if it is `None`)."""
    return true() if due_by is None else column <= to_db_time(due_by)


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
        query = (
            select(alerts)
            .where(
                alerts.c.version > alerts.c.delivered_version,
                alerts.c.id > after_id,
                or_(alerts.c.next_attempt_at.is_(None), _due(alerts.c.next_attempt_at, due_by)),
            )
            .order_by(alerts.c.id)
            .limit(limit)
        )
        pending = []
        for row in await self._db.connection.rows(query):
            response = await self._responses.get_response(row.response_id)
            if response is None:  # pragma: no cover - alerts cascade with their response
                continue
            pending.append(
                PendingAlert(
                    id=row.id,
                    response=response,
                    reasons=_reasons(row.reasons),
                    created_at=from_db_time(row.created_at),
                    staff_message_id=row.staff_message_id,
                    version=row.version,
                    failed_attempts=row.failed_attempts,
                    maybe_sent=bool(row.maybe_sent),
                    case=await self._case(row),
                )
            )
        return pending

    async def open_count(self) -> int:
        """How many cases are open."""
        counted = await self._db.connection.scalar(
            select(func.count()).where(
                alerts.c.case_opened_at.is_not(None), alerts.c.resolved_at.is_(None)
            )
        )
        return int(counted or 0)

    async def case_listing(self, opened: int, resolved: int) -> list[CaseListing]:
        """The `opened` oldest open cases; then the latest `resolved` resolved, newest first."""
        # The pseudonym looked up per listed case: joined, SQLite would walk every response
        # to find the few with a case.
        pseudonym = (
            select(patients.c.pseudonym)
            .join(responses, responses.c.patient_id == patients.c.id)
            .where(responses.c.id == alerts.c.response_id)
            .scalar_subquery()
        )
        listed = select(
            alerts.c.id,
            pseudonym.label("pseudonym"),
            alerts.c.reasons,
            alerts.c.case_opened_at,
            alerts.c.claimed_by_name,
            alerts.c.resolved_at,
        )
        is_case = alerts.c.case_opened_at.is_not(None)
        open_rows = await self._db.connection.rows(
            listed.where(is_case, alerts.c.resolved_at.is_(None))
            .order_by(alerts.c.case_opened_at, alerts.c.id)
            .limit(opened)
        )
        closed_rows = await self._db.connection.rows(
            listed.where(is_case, alerts.c.resolved_at.is_not(None))
            .order_by(alerts.c.resolved_at.desc(), alerts.c.id.desc())
            .limit(resolved)
        )
        return [
            CaseListing(
                alert_id=row.id,
                pseudonym=row.pseudonym,
                reasons=_reasons(row.reasons),
                opened_at=from_db_time(row.case_opened_at),
                claimed_by_name=row.claimed_by_name,
                resolved_at=_time(row.resolved_at),
            )
            for row in [*open_rows, *closed_rows]
        ]

    async def case_view(self, alert_id: int) -> CaseView | None:
        """The case with its answers and conversation; `None` if it is gone (erased)."""
        row = await self._db.connection.first(
            select(alerts).where(alerts.c.id == alert_id, alerts.c.case_opened_at.is_not(None))
        )
        if row is None:
            return None
        response = await self._responses.get_response(row.response_id)
        if response is None:  # pragma: no cover - alerts cascade with their response
            return None
        return CaseView(
            alert_id=row.id,
            response=response,
            reasons=_reasons(row.reasons),
            opened_at=from_db_time(row.case_opened_at),
            case=await self._case(row),
        )

    async def _case(self, row: StoredRow) -> CaseState:
        messages = await self._db.connection.rows(_CONVERSATION, {"alert_id": row.id})
        return CaseState(
            claimed_by_name=row.claimed_by_name,
            claimed_at=_time(row.claimed_at),
            first_reply_at=_time(row.first_reply_at),
            resolved_by_name=row.resolved_by_name,
            resolved_at=_time(row.resolved_at),
            note=row.resolution_note,
            reposted=row.escalated_at is not None,
            is_case=row.case_opened_at is not None,
            callback_phone=row.callback_phone,
            conversation=tuple(
                CaseMessage(
                    direction=CaseDirection(message.direction),
                    body=message.body,
                    created_at=from_db_time(message.created_at),
                    author_name=message.author_name,
                    delivery=(
                        CaseDelivery.FAILED
                        if message.failed
                        else CaseDelivery.DELIVERED
                        if message.delivered_at
                        else CaseDelivery.PENDING
                    ),
                )
                for message in messages
            ),
        )

    async def pending_relays(self, due_by: datetime | None) -> list[PatientRelay]:
        """Patients' messages to staff not posted yet, due by `due_by` (all if `None`)."""
        query = (
            select(
                case_messages.c.id,
                case_messages.c.alert_id,
                patients.c.pseudonym,
                case_messages.c.body,
                case_messages.c.created_at,
                case_messages.c.failed_attempts,
                alerts.c.staff_message_id,
            )
            .select_from(
                case_messages.join(alerts, alerts.c.id == case_messages.c.alert_id)
                .join(responses, responses.c.id == alerts.c.response_id)
                .join(patients, patients.c.id == responses.c.patient_id)
            )
            .where(
                case_messages.c.direction == "from_patient",
                case_messages.c.delivered_at.is_(None),
                _due(case_messages.c.next_attempt_at, due_by),
            )
            .order_by(case_messages.c.id)
        )
        return [
            PatientRelay(
                id=row.id,
                alert_id=row.alert_id,
                pseudonym=row.pseudonym,
                body=row.body,
                created_at=from_db_time(row.created_at),
                reply_to=row.staff_message_id,
                failed_attempts=row.failed_attempts,
            )
            for row in await self._db.connection.rows(query)
        ]

    async def relay_posted(self, relay_id: int, message_id: int) -> None:
        """The patient's message is in the staff chat, as this message."""
        async with self._db.transaction() as conn:
            await conn.run(
                update(case_messages)
                .where(case_messages.c.id == relay_id)
                .values(delivered_at=case_messages.c.created_at, staff_message_id=message_id)
            )
            await conn.run(
                conn.insert(case_staff_messages)
                .from_select(
                    ["message_id", "alert_id", "kind"],
                    select(
                        literal(message_id, BigInteger),
                        case_messages.c.alert_id,
                        literal("patient", Text),
                    ).where(case_messages.c.id == relay_id),
                )
                .on_conflict_do_nothing()
            )

    async def postpone_relay(self, relay_id: int, until: datetime, failed_attempts: int) -> None:
        """Try posting the patient's message again at `until`."""
        async with self._db.transaction() as conn:
            await conn.run(
                update(case_messages)
                .where(case_messages.c.id == relay_id)
                .values(next_attempt_at=to_db_time(until), failed_attempts=failed_attempts)
            )

    async def mark_sending(self, alert_id: int) -> None:
        """Record, before a send, that the alert may reach staff without being marked."""
        async with self._db.transaction() as conn:
            await conn.run(update(alerts).where(alerts.c.id == alert_id).values(maybe_sent=1))

    async def mark_delivered(
        self, alert_id: int, staff_message_id: int, version: int, *, maybe_repeat: bool
    ) -> None:
        """Record that staff have seen this version of the alert."""
        async with self._db.transaction() as conn:
            await conn.run(
                update(alerts)
                .where(alerts.c.id == alert_id)
                .values(
                    staff_message_id=staff_message_id,
                    # A later version may have been marked meanwhile: never go back.
                    delivered_version=case(
                        (alerts.c.delivered_version > version, alerts.c.delivered_version),
                        else_=version,
                    ),
                    maybe_sent=int(maybe_repeat),
                    failed_attempts=0,
                    next_attempt_at=None,
                )
            )
            # A staff reply to it is about this case, and it is blanked with the patient.
            await conn.run(
                conn.insert(case_staff_messages)
                .values(message_id=staff_message_id, alert_id=alert_id, kind="alert")
                .on_conflict_do_nothing()
            )

    async def postpone(
        self, alert_id: int, until: datetime, failed_attempts: int, *, maybe_sent: bool
    ) -> None:
        """Try again at `until`, after this many failures in a row."""
        async with self._db.transaction() as conn:
            await conn.run(
                update(alerts)
                .where(alerts.c.id == alert_id)
                .values(
                    next_attempt_at=to_db_time(until),
                    failed_attempts=failed_attempts,
                    maybe_sent=int(maybe_sent),
                )
            )

    async def pending_redactions(self, due_by: datetime | None) -> list[Redaction]:
        """Staff messages to blank, due by `due_by` (all if `None`), oldest first."""
        rows = await self._db.connection.rows(
            select(staff_redactions.c.message_id, staff_redactions.c.failed_attempts)
            .where(_due(staff_redactions.c.next_attempt_at, due_by))
            .order_by(staff_redactions.c.created_at, staff_redactions.c.message_id)
        )
        return [Redaction(row.message_id, row.failed_attempts) for row in rows]

    async def redaction_done(self, message_id: int) -> None:
        """The staff message is blank now (or gone)."""
        async with self._db.transaction() as conn:
            await conn.run(
                delete(staff_redactions).where(staff_redactions.c.message_id == message_id)
            )

    async def postpone_redaction(
        self, message_id: int, until: datetime, failed_attempts: int
    ) -> None:
        """Try blanking it again at `until`, after this many failures in a row."""
        async with self._db.transaction() as conn:
            await conn.run(
                update(staff_redactions)
                .where(staff_redactions.c.message_id == message_id)
                .values(next_attempt_at=to_db_time(until), failed_attempts=failed_attempts)
            )

    async def forget_message(self, alert_id: int) -> None:
        """The staff message was deleted: the alert is to be posted anew."""
        async with self._db.transaction() as conn:
            await conn.run(
                update(alerts).where(alerts.c.id == alert_id).values(staff_message_id=None)
            )


def _time(text: str | None) -> datetime | None:
    return None if text is None else from_db_time(text)


def _reasons(stored: str) -> tuple[AlertReason, ...]:
    return tuple(AlertReason(reason) for reason in stored.split(",") if reason)
