"""What the services need from the outside world, as Protocols."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from bot.domain.audit import Anchor, AuditEntry, AuditHead, StoredEntry
from bot.domain.models import (
    AnswerCommit,
    CaseIntent,
    CaseListing,
    CaseTarget,
    CaseView,
    CommentFilter,
    CommentPage,
    Invitation,
    OpenCase,
    OwedNotice,
    Patient,
    PatientRelay,
    PendingAlert,
    Redaction,
    Response,
    Sentiment,
    StaffMember,
    StaffReplyStored,
    Summary,
    Visit,
    VisitGroup,
)
from bot.domain.periods import Period
from bot.domain.surveys import ScoreQuestions
from bot.domain.trend import DayFigures


class Clock(Protocol):
    """Tells the time; tests pass a clock they control."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)


class ShiftedClock:
    """The real clock's pace from a chosen start (`FEEDBACK_TEST_NOW`, for tests only).

    A test that runs the bot on a fake clock runs the command line on the same calendar
    with it, so that neither side ages with the real date.
    """

    def __init__(self, start: datetime) -> None:
        self._start = start.astimezone(UTC)
        self._started = time.monotonic()

    def now(self) -> datetime:
        """`start`, plus the real time gone by since this clock was made."""
        return self._start + timedelta(seconds=time.monotonic() - self._started)


class SentimentScorer(Protocol):
    """Reads the sentiment of one free-text answer."""

    def score(self, text: str, language: str | None = None) -> Sentiment:
        """Polarity, label and topics of `text`; `language` is the patient's, if known."""
        ...


class Patients(Protocol):
    """Who agreed to take part, and in which language they read the bot."""

    async def get_patient(self, external_id: int) -> Patient | None:
        """The consented patient with this chat identity, if any."""
        ...

    async def add_patient(
        self, external_id: int, now: datetime, language: str | None = None
    ) -> Patient:
        """Record consent, returning the existing patient if there is one."""
        ...

    async def set_language(self, external_id: int, language: str) -> bool:
        """Remember the patient's language; `False` if there is no such patient."""
        ...

    async def forget_patient(self, external_id: int, now: datetime) -> bool:
        """Erase the patient and everything they answered; whether there was anything."""
        ...


class SurveyAnswers(Protocol):
    """A patient's way through a survey: the response, its visit and each answer."""

    async def open_response(self, patient_id: int) -> Response | None:
        """The patient's response in progress, if any."""
        ...

    async def get_response(self, response_id: str) -> Response | None:
        """A response by id, with its answers."""
        ...

    async def start_response(
        self,
        patient_id: int,
        survey_id: str,
        now: datetime,
        invitation_code: str | None = None,
    ) -> Response:
        """Begin a new response (none is open), claiming its invitation if any."""
        ...

    async def get_invitation(self, code: str) -> Invitation | None:
        """The invitation with this code, if any."""
        ...

    async def links_booking_patient(self, code: str) -> bool:
        """Whether agreeing through this invitation links a booking system's patient id."""
        ...

    async def attach_visit(self, response_id: str, visit: Visit, now: datetime) -> bool:
        """Record the visit a patient described; `False` if the response has one."""
        ...

    async def commit_answer(self, commit: AnswerCommit) -> bool:
        """Store everything the answer changes, as the domain decided it, in one transaction.

        `False` if the question was answered already or the response is closed.
        """
        ...

    async def mark_asked(self, response_id: str, question_id: str, message_id: int | None) -> None:
        """Record that this question reached the patient, as this Telegram message."""
        ...

    async def patients_owed_a_question(self, answered_since: datetime) -> list[int]:
        """Telegram ids of patients whose survey's next question was never delivered.

        Only surveys in progress, last answered since `answered_since`.
        """
        ...

    async def abandon(self, response_id: str) -> bool:
        """Mark a response in progress as abandoned; whether staff have an alert to update."""
        ...


class PatientSurveys(Patients, SurveyAnswers, Protocol):
    """What walking patients through surveys needs: the patients and their answers."""


class PatientNotices(Protocol):
    """What the bot owes patients besides questions, until it is delivered or dropped."""

    async def owed_notices(
        self, *, due_by: datetime, external_id: int | None = None
    ) -> list[OwedNotice]:
        """Notices due by `due_by` (for one patient, or everyone), oldest first."""
        ...

    async def notice_done(self, notice_id: int, now: datetime, *, arrived: bool) -> None:
        """The notice was delivered (`arrived`), or never will be: forget it.

        A staff reply's case records which, in the same transaction.
        """
        ...

    async def postpone_notice(self, notice_id: int, until: datetime, failed_attempts: int) -> None:
        """Try the notice again at `until`, after this many failures in a row."""
        ...


class Retention(Protocol):
    """Deleting what is older than the retention period promised at consent."""

    async def purge_before(self, cutoff: datetime, now: datetime) -> int:
        """Delete responses started before `cutoff`, and patients left with nothing.

        Staff messages that showed their answers are queued to be blanked (`now`).
        """
        ...


class FollowupResponses(Protocol):
    """What sending a follow-up needs of the responses: read one, record what it asked."""

    async def get_response(self, response_id: str) -> Response | None:
        """A response by id, with its answers."""
        ...

    async def mark_asked(self, response_id: str, question_id: str, message_id: int | None) -> None:
        """Record that this question reached the patient, as this Telegram message."""
        ...


class HandledEvents(Protocol):
    """The keys of updates already handled, kept while Telegram might redeliver them."""

    async def seen(self, dedup_key: int) -> bool:
        """Whether an event with this key was already handled."""
        ...

    async def mark_seen(self, dedup_key: int, now: datetime) -> None:
        """Remember that an event with this key was handled."""
        ...

    async def forget_events_before(self, cutoff: datetime) -> int:
        """Drop keys older than `cutoff`; how many went."""
        ...


class AlertStore(Protocol):
    """Staff alerts waiting to be shown or updated: an outbox."""

    async def pending_alerts(
        self, due_by: datetime | None, *, after_id: int = 0, limit: int | None = None
    ) -> list[PendingAlert]:
        """Alerts never sent, or changed since, due by `due_by` (all if `None`), oldest first.

        A page: those with an id above `after_id`, at most `limit` (all if `None`).
        """
        ...

    async def mark_sending(self, alert_id: int) -> None:
        """Record, before a send, that the alert may reach staff without being marked."""
        ...

    async def mark_delivered(
        self, alert_id: int, staff_message_id: int, version: int, *, maybe_repeat: bool
    ) -> None:
        """Record that staff have seen this version of the alert.

        `maybe_repeat`: the message says it may repeat an earlier copy, and keeps saying so.
        """
        ...

    async def postpone(
        self, alert_id: int, until: datetime, failed_attempts: int, *, maybe_sent: bool
    ) -> None:
        """Try again at `until`, after this many failures in a row."""
        ...

    async def forget_message(self, alert_id: int) -> None:
        """The staff message was deleted: the alert is to be posted anew."""
        ...

    async def pending_redactions(self, due_by: datetime | None) -> list[Redaction]:
        """Staff messages to blank, due by `due_by` (all if `None`), oldest first."""
        ...

    async def redaction_done(self, message_id: int) -> None:
        """The staff message is blank now (or gone)."""
        ...

    async def postpone_redaction(
        self, message_id: int, until: datetime, failed_attempts: int
    ) -> None:
        """Try blanking it again at `until`, after this many failures in a row."""
        ...

    async def pending_relays(self, due_by: datetime | None) -> list[PatientRelay]:
        """Patients' messages to staff not posted yet, due by `due_by` (all if `None`)."""
        ...

    async def relay_posted(self, relay_id: int, message_id: int) -> None:
        """The patient's message is in the staff chat, as this message."""
        ...

    async def postpone_relay(self, relay_id: int, until: datetime, failed_attempts: int) -> None:
        """Try posting the patient's message again at `until`."""
        ...


class CaseWork(Protocol):
    """Working a case from the staff chat: who took it, the reply, the resolution."""

    async def case_target(self, alert_id: int) -> CaseTarget | None:
        """What staff act on: the case's patient pseudonym and state; `None` once erased."""
        ...

    async def claim(self, alert_id: int, staff: StaffMember, now: datetime) -> bool:
        """Give an open, unclaimed case to `staff`; whether it was theirs to take."""
        ...

    async def add_staff_reply(
        self,
        alert_id: int,
        staff: StaffMember,
        body: str,
        now: datetime,
        dedup_key: int | None = None,
    ) -> StaffReplyStored:
        """Owe the patient this reply (claiming an unclaimed case), unless stored already."""
        ...

    async def resolve(self, alert_id: int, staff: StaffMember, now: datetime) -> bool:
        """Close the case; `False` if it was closed already."""
        ...

    async def add_note(self, alert_id: int, note: str) -> bool:
        """The resolved case's note; `False` if the case is not resolved."""
        ...


class StaffIntents(Protocol):
    """What a staff member's next message is for: a reply to the patient, or a note."""

    async def set_intent(self, staff: StaffMember, intent: CaseIntent, now: datetime) -> None:
        """Remember what this staff member's next message is for (one intent each)."""
        ...

    async def intent(self, user_id: int, since: datetime) -> CaseIntent | None:
        """This staff member's intent, if set since `since`."""
        ...

    async def clear_intent(self, user_id: int) -> bool:
        """Forget this staff member's intent; whether there was one."""
        ...

    async def case_of_message(self, message_id: int) -> CaseIntent | None:
        """What a reply to this staff-chat message is for, if it belongs to a case."""
        ...

    async def record_prompt(self, message_id: int, intent: CaseIntent) -> None:
        """The bot's prompt in the staff chat: a reply to it is what `intent` says."""
        ...


class PatientCaseMessages(Protocol):
    """What the patient sends a case: their answer to a staff reply, a number to call."""

    async def relay_from_patient(
        self, external_id: int, body: str, now: datetime, dedup_key: int | None
    ) -> bool:
        """Pass the patient's message to the case awaiting it; whether one was."""
        ...

    async def callback_request(self, external_id: int, phone: str) -> bool:
        """Record the number the patient shared on their latest case; whether there was one."""
        ...


class CaseReminders(Protocol):
    """Open cases nobody took, to list and to post again."""

    async def open_cases(self) -> list[OpenCase]:
        """Cases not resolved yet, oldest first."""
        ...

    async def unclaimed_posted(self) -> list[OpenCase]:
        """Posted cases nobody took and that were never posted again, oldest first."""
        ...

    async def repost(self, alert_id: int, now: datetime) -> bool:
        """Post the case again as a new message; `False` if taken or closed since."""
        ...


class CaseRecords(Protocol):
    """Cases whole, for the console."""

    async def open_count(self) -> int:
        """How many cases are open."""
        ...

    async def case_listing(self, opened: int, resolved: int) -> list[CaseListing]:
        """The `opened` oldest open cases; then the `resolved` latest resolved, newest first."""
        ...

    async def case_view(self, alert_id: int) -> CaseView | None:
        """The case with its answers and conversation; `None` if it is gone."""
        ...


class CaseStore(CaseWork, StaffIntents, PatientCaseMessages, CaseReminders, Protocol):
    """Everything the case service does with cases, one use case per part."""


class Inbox(Protocol):
    """Updates stored before Telegram is told they arrived, until they are handled."""

    async def keep(self, updates: list[tuple[int, str]], now: datetime) -> None:
        """Store a batch of (update id, body) in one go."""
        ...

    async def forget_handled(self) -> None:
        """Drop stored copies of updates that were handled (a crash can leave some)."""
        ...

    async def unhandled(self, received_before: datetime | None = None) -> list[str]:
        """Bodies of stored updates not yet handled (received before a time), oldest first."""
        ...

    async def last_update_id(self) -> int | None:
        """The newest update stored, if any."""
        ...


class AuditTrail(Protocol):
    """The audit trail's entries, each chained to the one before (bot/domain/audit.py)."""

    async def append(self, entry: AuditEntry) -> str:
        """Add the entry after the last one; its hash."""
        ...

    async def entries(
        self, since: datetime | None = None, actor: str | None = None
    ) -> list[StoredEntry]:
        """Entries in order, from `since` on, by `actor` alone if given."""
        ...

    def chain(self) -> AsyncGenerator[StoredEntry]:
        """Every entry in order, a batch at a time."""
        ...

    async def head(self) -> str:
        """The last entry's hash."""
        ...

    async def anchor(self) -> Anchor | None:
        """The last entry retention removed, which the first kept one follows."""
        ...

    async def remove_before(self, cutoff: datetime) -> int:
        """Remove the entries older than `cutoff`, anchoring the rest; how many went."""
        ...

    async def owe_head(self, day: date, now: datetime) -> AuditHead | None:
        """Owe the staff chat the day's head, unless owed already or unchanged since."""
        ...

    async def owed_heads(self, due_by: datetime | None) -> list[AuditHead]:
        """Heads not yet posted, whose next attempt is due by `due_by` (all: `None`)."""
        ...

    async def head_posted(self, day: date, now: datetime) -> None:
        """The day's head arrived in the staff chat."""
        ...

    async def postpone_head(self, day: date, until: datetime, failed_attempts: int) -> None:
        """Try the day's head again at `until`."""
        ...


class ReportStore(Protocol):
    """Aggregates and exports for staff."""

    async def summary(
        self, period: Period, since: datetime | None, scores: ScoreQuestions
    ) -> Summary:
        """Aggregates over responses started since `since` (all if `None`)."""
        ...

    async def daily_figures(self, first_day: date, scores: ScoreQuestions) -> list[DayFigures]:
        """Each survey's figures per day, from `first_day` on, from the daily totals."""
        ...

    async def totals_due(self, scores: ScoreQuestions) -> bool:
        """Whether the daily totals count other questions (or none yet) and need a build."""
        ...

    async def prepare(self, scores: ScoreQuestions) -> bool:
        """Build the daily totals if they count other questions (or none yet); whether so."""
        ...

    async def answered_questions(self) -> dict[str, bool]:
        """Every question id with an answer, mapped to whether any answer has a sentiment."""
        ...

    def iter_responses(self, since: datetime | None) -> AsyncGenerator[Response, None]:
        """Every response started since `since`, oldest first, with answers."""
        ...

    async def comments(
        self, wanted: CommentFilter, limit: int, offset: int, *, count_up_to: int
    ) -> CommentPage:
        """Patients' comments the filter finds, newest first: `limit` from `offset` on.

        The total is exact up to `count_up_to`, and that plus one beyond.
        """
        ...

    async def visit_names(self) -> tuple[list[str], list[str]]:
        """Every provider and every location visits name, sorted."""
        ...

    async def visit_groups(
        self, since: datetime | None, scores: ScoreQuestions
    ) -> list[VisitGroup]:
        """Responses started since `since` per provider, treatment and location; largest first."""
        ...


@dataclass(frozen=True, slots=True)
class Posted:
    """The alert is in the staff chat, as this message."""

    message_id: int


@dataclass(frozen=True, slots=True)
class Edited:
    """The staff message now shows the alert's latest version."""


@dataclass(frozen=True, slots=True)
class MessageGone:
    """The staff message is gone (deleted by staff): the alert is to be posted anew."""


@dataclass(frozen=True, slots=True)
class TryLater:
    """Not delivered this time."""

    retry_after: float | None = None
    """Seconds Telegram asked every sender to wait (flood control), if it did."""
    maybe_sent: bool = False
    """The request may have reached Telegram all the same (it timed out)."""


class AlertSender(Protocol):
    """Shows alerts to staff (the Telegram adapter implements it)."""

    async def send(self, alert: PendingAlert, now: datetime) -> Posted | TryLater:
        """Post a new alert."""
        ...

    async def update(
        self, alert: PendingAlert, staff_message_id: int, now: datetime
    ) -> Edited | MessageGone | TryLater:
        """Replace the content of an alert already posted."""
        ...

    async def redact(self, staff_message_id: int) -> Edited | MessageGone | TryLater:
        """Replace an alert's content with a note that the patient's data was erased."""
        ...

    async def relay(self, relay: PatientRelay) -> Posted | TryLater:
        """Post a patient's message to staff, under its alert."""
        ...

    async def audit_head(self, head: AuditHead) -> Posted | TryLater:
        """Post the audit trail's head of the day, so that a copy lives outside the database."""
        ...
