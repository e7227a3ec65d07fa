"""What the bot knows about patients, their responses and what staff see."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum, StrEnum, auto

from bot.domain.periods import Period
from bot.domain.scores import DEFAULT_RATING_SCALE, net_promoter_score
from bot.domain.surveys import AnswerValue


class ResponseStatus(StrEnum):
    """Where a response stands (the values are part of the export contract)."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class SentimentLabel(StrEnum):
    """The coarse reading of a free-text answer."""

    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"
    UNKNOWN = "unknown"
    """A language the scorer does not read: it says so rather than guess neutral."""


@dataclass(frozen=True, slots=True)
class Sentiment:
    """A scorer's reading of one text: polarity in [-1, 1], a label and topic tags."""

    polarity: float
    label: SentimentLabel
    topics: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    """The words or rules that drove the score, for staff to see why."""

    @property
    def clinical(self) -> bool:
        """Whether the text mentions a possible complication (the safety lane)."""
        return "safety" in self.topics


@dataclass(frozen=True, slots=True)
class Patient:
    """A patient who agreed to give feedback; `pseudonym` is what staff and exports see."""

    id: int
    pseudonym: str
    consented_at: datetime
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    """What a response is about: a treatment, and where known who gave it, where and when."""

    treatment: str | None
    provider: str | None = None
    location: str | None = None
    date: date | None = None


class InvitationState(StrEnum):
    """Whether an invitation code can start a survey."""

    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True, slots=True)
class Invitation:
    """A single-use code that ties a patient's answers to a visit."""

    code: str
    survey_id: str
    visit: Visit
    created_at: datetime
    expires_at: datetime
    patient_id: int | None = None
    used: bool = False

    def state_for(self, patient_id: int | None, now: datetime) -> InvitationState:
        """Whether this patient may use the code now.

        The first patient to start with a code owns it; it is spent once their response
        completes, and never lets anyone else in.
        """
        if self.used or (self.patient_id is not None and self.patient_id != patient_id):
            return InvitationState.USED
        if now >= self.expires_at:
            return InvitationState.EXPIRED
        return InvitationState.VALID


@dataclass(frozen=True, slots=True)
class Answer:
    """One stored answer (`None` value: the patient skipped the question)."""

    question_id: str
    value: AnswerValue
    answered_at: datetime
    sentiment: Sentiment | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """One patient's pass through one survey, with the answers given so far."""

    id: str
    patient_id: int
    patient_pseudonym: str
    survey_id: str
    status: ResponseStatus
    started_at: datetime
    completed_at: datetime | None
    answers: tuple[Answer, ...] = ()
    visit: Visit | None = None
    invitation_code: str | None = None
    asked_question: str | None = None
    """The question last delivered to the patient, if any was."""
    asked_message_id: int | None = None
    """The Telegram message that asked it, if known."""
    patient_language: str | None = None
    """The language the patient reads the bot in (what staff call back in)."""

    @property
    def values(self) -> dict[str, AnswerValue]:
        """The answers as question id -> value."""
        return {answer.question_id: answer.value for answer in self.answers}

    def spent_by(self, *, completes: bool) -> bool:
        """Whether an answer that `completes` (or not) this response uses up its invitation.

        A visit link is spent when the survey it opened is finished, not when it is opened:
        a patient interrupted half-way can open it again and carry on. A follow-up weeks later
        is about the same visit: it is spent already, and keeps the time it first was.
        """
        return completes and self.invitation_code is not None


class AlertDetail(StrEnum):
    """How much of a patient's case the staff group reads (`FEEDBACK_ALERT_DETAIL`)."""

    FULL = "full"
    """Everything: answers, comments, messages, the phone number to call back."""
    MINIMAL = "minimal"
    """Pseudonym, reasons, scores, the visit and the case's state; the patient's words,
    staff replies and the phone number only in a private chat, behind a Details button."""


class AlertReason(StrEnum):
    """Why a response was raised to staff; CLINICAL comes first, as it matters most."""

    CLINICAL = "clinical"
    LOW_CSAT = "low_csat"
    LOW_NPS = "low_nps"
    NEGATIVE_COMMENT = "negative_comment"


@dataclass(frozen=True, slots=True)
class AlertThresholds:
    """Scores at or below these raise a staff alert."""

    csat_at_most: int = 2
    nps_at_most: int = 6


class CaseDirection(StrEnum):
    """Which way a message of a case went."""

    TO_PATIENT = "to_patient"
    FROM_PATIENT = "from_patient"


class CaseDelivery(Enum):
    """Where a message of a case is on its way."""

    PENDING = auto()
    DELIVERED = auto()
    FAILED = auto()
    """It can never arrive (the patient blocked the bot) or was owed too long."""


@dataclass(frozen=True, slots=True)
class CaseMessage:
    """One message between staff and the patient, kept with the case."""

    direction: CaseDirection
    body: str
    created_at: datetime
    author_name: str | None = None
    """The staff member who wrote it (shown to staff only; patients see the clinic)."""
    delivery: CaseDelivery = CaseDelivery.PENDING


@dataclass(frozen=True, slots=True)
class CaseState:
    """Where staff are with an alert: taken, answered, resolved."""

    claimed_by_name: str | None = None
    claimed_at: datetime | None = None
    first_reply_at: datetime | None = None
    resolved_by_name: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None
    reposted: bool = False
    """Posted again because nobody took it in time."""
    callback_phone: str | None = None
    """The number the patient shared, asking to be called."""
    conversation: tuple[CaseMessage, ...] = ()
    is_case: bool = True
    """`False` for an alert from before cases existed: shown as it was, with no buttons."""

    @property
    def resolved(self) -> bool:
        """Closed by staff."""
        return self.resolved_at is not None


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An alert that staff have not been shown yet, or whose content changed since."""

    id: int
    response: Response
    reasons: tuple[AlertReason, ...]
    created_at: datetime
    staff_message_id: int | None
    version: int
    failed_attempts: int = 0
    """Deliveries that failed in a row, for the back-off."""
    maybe_sent: bool = False
    """An earlier send may have reached staff unconfirmed (a timeout, or a crash)."""
    case: CaseState = field(default_factory=CaseState)
    """Who took the alert, the conversation with the patient, the resolution."""


@dataclass(frozen=True, slots=True)
class StaffMember:
    """An admin acting on a case: their Telegram id, and the name they show in Telegram."""

    user_id: int
    name: str

    def mention_html(self) -> str:
        """The staff member's name as a Telegram mention (HTML, escaped)."""
        return f'<a href="tg://user?id={self.user_id}">{html.escape(self.name)}</a>'


class StaffReplyStored(StrEnum):
    """What became of a staff member's reply to a patient when it was stored."""

    OWED = "owed"
    """Stored now, to be delivered."""
    ALREADY = "already"
    """Stored before: a retry or a redelivered update, sent once all the same."""
    CASE_CLOSED = "case_closed"
    """Not stored: the case is resolved (or gone)."""


class IntentKind(StrEnum):
    """What a staff member's next message in the staff chat is for."""

    REPLY = "reply"
    """To be sent to the patient."""
    NOTE = "note"
    """The resolved case's note."""


@dataclass(frozen=True, slots=True)
class CaseIntent:
    """A staff member tapped Reply or Resolve on this case."""

    alert_id: int
    kind: IntentKind


@dataclass(frozen=True, slots=True)
class CaseTarget:
    """A case as staff act on it."""

    alert_id: int
    pseudonym: str
    claimed_by: int | None
    claimed_by_name: str | None
    resolved: bool


@dataclass(frozen=True, slots=True)
class PatientRelay:
    """A patient's message to staff, to be posted in the staff chat under its alert."""

    id: int
    alert_id: int
    pseudonym: str
    body: str
    created_at: datetime
    reply_to: int | None
    """The alert's staff message, if it has one."""
    failed_attempts: int = 0


@dataclass(frozen=True, slots=True)
class OpenCase:
    """A case not resolved yet, for `/cases`."""

    alert_id: int
    pseudonym: str
    reasons: tuple[AlertReason, ...]
    created_at: datetime
    claimed_by_name: str | None
    first_reply_at: datetime | None
    staff_message_id: int | None


@dataclass(frozen=True, slots=True)
class CaseListing:
    """A case in the console's list: open ones, and those resolved lately."""

    alert_id: int
    pseudonym: str
    reasons: tuple[AlertReason, ...]
    opened_at: datetime
    claimed_by_name: str | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case whole, as the console shows it: the answers, why, and what staff did."""

    alert_id: int
    response: Response
    reasons: tuple[AlertReason, ...]
    opened_at: datetime
    case: CaseState


@dataclass(frozen=True, slots=True)
class Redaction:
    """A staff message that showed answers since erased: to be blanked."""

    message_id: int
    failed_attempts: int = 0


class Notice(StrEnum):
    """A message the bot owes a patient besides the next question."""

    SAFETY_ADVICE = "safety_advice"
    """After a comment that mentions a possible complication: who will call, and when not
    to wait for that call."""
    THANKS = "thanks"
    REVIEW_INVITATION = "review_invitation"
    CALL_OFFER = "call_offer"
    """After a low score: a button that shares the patient's number, asking to be called."""
    STAFF_REPLY = "staff_reply"
    """A staff member's answer to the patient's feedback, signed with the clinic's name."""


@dataclass(frozen=True, slots=True)
class OwedNotice:
    """A notice not yet delivered to the patient."""

    id: int
    external_id: int
    chosen_language: str | None
    kind: Notice
    created_at: datetime
    failed_attempts: int = 0
    body: str | None = None
    """What staff wrote, for a staff reply."""


@dataclass(frozen=True, slots=True)
class NegativeComment:
    """A recent comment scored negative, for the summary."""

    patient_pseudonym: str
    question_id: str
    text: str
    polarity: float
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class CommentFilter:
    """Which comments staff look for: words each comment holds, and what it is about."""

    words: tuple[str, ...] = ()
    since: datetime | None = None
    sentiment: SentimentLabel | None = None
    treatment: str | None = None
    provider: str | None = None
    location: str | None = None
    survey: str | None = None


@dataclass(frozen=True, slots=True)
class ListedComment:
    """A patient's comment as the console lists it."""

    patient_pseudonym: str
    survey_id: str
    question_id: str
    text: str
    label: SentimentLabel
    polarity: float | None
    answered_at: datetime
    visit: Visit | None


@dataclass(frozen=True, slots=True)
class CommentPage:
    """One page of the comments a filter finds, newest first, and how many it finds in all."""

    total: int
    comments: tuple[ListedComment, ...]


@dataclass(frozen=True, slots=True)
class VisitGroup:
    """One provider, treatment and location together: how many responses, CSAT and NPS."""

    provider: str | None
    treatment: str | None
    location: str | None
    responses: int
    csat_count: int
    csat_sum: int
    nps_promoters: int
    nps_passives: int
    nps_detractors: int

    @property
    def csat(self) -> float | None:
        """Mean CSAT."""
        return self.csat_sum / self.csat_count if self.csat_count else None

    @property
    def nps(self) -> float | None:
        """Net Promoter Score, -100..100."""
        return net_promoter_score(self.nps_promoters, self.nps_passives, self.nps_detractors)


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Scores for one treatment, provider or location."""

    name: str
    responses: int
    csat_mean: float | None
    nps_promoters: int
    nps_detractors: int
    nps_count: int

    @property
    def nps(self) -> float | None:
        """Net Promoter Score of this group, -100..100."""
        if not self.nps_count:
            return None
        return 100 * (self.nps_promoters - self.nps_detractors) / self.nps_count


class BreakdownBy(StrEnum):
    """What a breakdown groups by (the visit's fields)."""

    TREATMENT = "treatment"
    PROVIDER = "provider"
    LOCATION = "location"


@dataclass(frozen=True, slots=True)
class InvitationFunnel:
    """Visit links created in a period, and how many patients opened and completed them.

    Opened counts patients who opened the link and agreed: nothing is stored about one who
    did not.
    """

    name: str
    created: int
    opened: int
    completed: int

    @property
    def opened_rate(self) -> float | None:
        """Opened as a share of created."""
        return self.opened / self.created if self.created else None

    @property
    def completed_rate(self) -> float | None:
        """Completed as a share of created: the response rate."""
        return self.completed / self.created if self.created else None


@dataclass(frozen=True, slots=True)
class CaseFigures:
    """How staff closed the loop on the cases (alerts) opened in a period."""

    opened: int
    resolved: int
    median_first_reply: timedelta | None
    """From the alert to the first staff reply the patient was sent, among those answered."""
    median_resolution: timedelta | None
    """From the alert to its resolution, among those resolved."""

    @property
    def share_resolved(self) -> float | None:
        """Resolved cases as a share of those opened."""
        return self.resolved / self.opened if self.opened else None


@dataclass(frozen=True, slots=True)
class Summary:
    """Aggregates over the responses started in a period."""

    period: Period
    started: int
    completed: int
    csat_count: int
    csat_mean: float | None
    csat_satisfied: int
    nps_promoters: int
    nps_passives: int
    nps_detractors: int
    sentiment_mix: dict[SentimentLabel, int] = field(default_factory=dict)
    negative_comments: tuple[NegativeComment, ...] = ()
    breakdowns: dict[BreakdownBy, tuple[Breakdown, ...]] = field(default_factory=dict)
    by_survey: tuple[Breakdown, ...] = ()
    """Scores per survey: the visit day next to the follow-ups weeks later."""
    invitations: InvitationFunnel | None = None
    """Every visit link created in the period (`None`: none was)."""
    invitations_by: dict[BreakdownBy, tuple[InvitationFunnel, ...]] = field(default_factory=dict)
    """The same per provider and per location, largest first."""
    visits_by_channel: tuple[InvitationFunnel, ...] = ()
    """Visits booking systems announced in the period, per way the patient was asked (each
    funnel is named after its `Delivery`: telegram, email, none), in that order."""
    cases: CaseFigures | None = None
    """The cases opened in the period (`None`: none was)."""
    csat_scale: range | None = DEFAULT_RATING_SCALE
    """The scale every CSAT question rates on (`None`: they differ)."""

    @property
    def completion_rate(self) -> float | None:
        """Completed responses as a share of those started."""
        return self.completed / self.started if self.started else None

    @property
    def csat_share_satisfied(self) -> float | None:
        """Share of CSAT answers in their scale's top two (4 or 5 of 1..5)."""
        return self.csat_satisfied / self.csat_count if self.csat_count else None

    @property
    def nps_count(self) -> int:
        """How many NPS answers the summary covers."""
        return self.nps_promoters + self.nps_passives + self.nps_detractors

    @property
    def nps(self) -> float | None:
        """Net Promoter Score: % promoters minus % detractors, -100..100."""
        return net_promoter_score(self.nps_promoters, self.nps_passives, self.nps_detractors)


class FollowupStatus(StrEnum):
    """Where a follow-up stands."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    REMINDED = "reminded"
    ANSWERED = "answered"
    EXPIRED = "expired"
    STOPPED = "stopped"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class ScheduledFollowup:
    """A follow-up to write when its source survey completes."""

    survey_id: str
    due_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Followup:
    """A follow-up as the dispatcher and staff see it."""

    id: int
    patient_id: int
    patient_pseudonym: str
    recipient: int
    """The patient's chat (their Telegram user id) to send to."""
    language: str | None
    survey_id: str
    visit: Visit | None
    due_at: datetime
    expires_at: datetime
    status: FollowupStatus
    response_id: str | None = None
    sent_at: datetime | None = None
    reminded_at: datetime | None = None
    attempts: int = 0
    after_visit: bool = False
    """The survey about a visit a booking system announced (not a follow-up of a survey)."""


@dataclass(frozen=True, slots=True)
class AnswerCommit:
    """Everything one answer changes, written in one transaction.

    `dedup_key` is the id of the incoming event; recording it in the same transaction
    makes a redelivered event recognisable without losing one that never committed.
    """

    response_id: str
    answer: Answer
    completes: bool
    alert_reasons: tuple[AlertReason, ...]
    dedup_key: int | None
    followups: tuple[ScheduledFollowup, ...] = ()
    """Scheduled with the completion, so a crash cannot complete a survey without them."""
    notices: tuple[Notice, ...] = ()
    """Owed to the patient from this answer on, delivered from the store (in this order)."""
    spends_invitation: bool = False
    """The invitation the response came from is used up now (see `Response.spent_by`)."""
