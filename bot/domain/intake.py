"""Visits announced by a booking system: what an event says, and what became of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from bot.domain.models import Invitation, Visit

# Sizes a booking system's fields never reach, so that nothing unbounded is stored.
_Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"
"""An address with one @ and no spaces: a typo shows, the mail server judges the rest."""
_Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Delivery(StrEnum):
    """How the patient is asked about the visit.

    By the bot in Telegram, by e-mail, or by the booking system itself (`none`: it sends the
    link, by SMS say).
    """

    TELEGRAM = "telegram"
    EMAIL = "email"
    NONE = "none"


class IntakePatient(BaseModel):
    """The patient as the booking system knows them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: _Id
    """The booking system's id for the patient (a returning patient has the same)."""
    email: Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)] | None = None
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")] | None = None
    first_name: _Name | None = None


class VisitEvent(BaseModel):
    """A finished visit, as a booking system (or a clinic's own script) posts it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: _Id
    """The sender's id for this event: the same event sent again is recognised by it."""
    patient: IntakePatient
    treatment: _Name
    provider: _Name | None = None
    location: _Name | None = None
    visit_at: AwareDatetime
    survey: _Id | None = None
    """The survey to ask (the survey file's default if absent)."""

    def visit(self) -> Visit:
        """The visit the invitation is for; its day is the day where it took place."""
        return Visit(self.treatment, self.provider, self.location, self.visit_at.date())


@dataclass(frozen=True, slots=True)
class RecordedVisit:
    """The invitation an event made, how the patient is asked, and whether it came before."""

    invitation: Invitation
    delivery: Delivery
    repeated: bool


class VisitProgress(StrEnum):
    """What became of an announced visit's invitation."""

    WAITING = "waiting"
    """Not opened yet, and still valid."""
    OPENED = "opened"
    """A patient opened it and agreed; the survey is not finished."""
    COMPLETED = "completed"
    EXPIRED = "expired"
    """Never opened while it was valid."""


class MailStatus(StrEnum):
    """Where an e-mail invitation is."""

    HELD = "held"
    """Kept in case the Telegram survey cannot be delivered."""
    DUE = "due"
    SENDING = "sending"
    SENT = "sent"
    REFUSED = "refused"
    DROPPED = "dropped"
    """Its invitation expired before it could be sent."""


@dataclass(frozen=True, slots=True)
class VisitEventRecord:
    """An announced visit as kept: the event, when it came, its invitation and delivery."""

    source: str
    event_id: str
    received_at: datetime
    invitation: Invitation
    delivery: Delivery
    mail: MailStatus | None = None
    mail_outcome: str | None = None
    """The SMTP server's last reply code (never its text, which may quote the address)."""

    def mail_state(self) -> str | None:
        """The e-mail's state as an operator reads it, e.g. "e-mail refused (550 5.1.1)"."""
        if self.mail is None:
            return None
        said = f" ({self.mail_outcome})" if self.mail_outcome else ""
        return f"e-mail {self.mail.value}{said}"

    def progress(self, now: datetime) -> VisitProgress:
        """How far the patient got with the invitation, as of `now`."""
        if self.invitation.used:
            return VisitProgress.COMPLETED
        if self.invitation.patient_id is not None:
            return VisitProgress.OPENED
        if self.invitation.expires_at <= now:
            return VisitProgress.EXPIRED
        return VisitProgress.WAITING


class FieldProblem(BaseModel):
    """One field's problem, as the API answers it (`did_you_mean` for a near miss)."""

    model_config = ConfigDict(frozen=True)

    field: str
    problem: str
    did_you_mean: tuple[str, ...] = Field(default=())


@dataclass(frozen=True, slots=True)
class LinkedPatient:
    """A booking system's patient who agreed in Telegram through one of its invitations."""

    patient_id: int
    reachable: bool
    """Neither /stop nor a blocked bot stands in the way of asking them in Telegram."""


@dataclass(frozen=True, slots=True)
class DeliveryRules:
    """The clinic's rules for asking about an announced visit."""

    invite_delay: timedelta
    """After the visit: `FEEDBACK_INVITE_DELAY_MINUTES`."""
    survey_gap: timedelta | None
    """At most one visit survey per this long (`None`: no limit)."""
    mails: bool
    """An SMTP server is set up."""


@dataclass(frozen=True, slots=True)
class MailOrder:
    """The e-mail an invitation owes: sent when due, or `held` while Telegram is tried."""

    address: str
    first_name: str | None
    language: str
    held: bool


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    """How and when the bot asks about a visit (nothing to do for `Delivery.NONE`)."""

    delivery: Delivery
    due_at: datetime
    ask_in_telegram: int | None = None
    """The linked patient (their `patients.id`) to send the survey to."""
    mail: MailOrder | None = None


Planner = Callable[[LinkedPatient | None, bool], DeliveryPlan]
"""How an event's patient is asked, given their link and whether they were asked recently."""


def plan_delivery(  # noqa: PLR0913 - the event, the patient, and the clinic's rules
    event: VisitEvent,
    linked: LinkedPatient | None,
    *,
    asked_recently: bool,
    rules: DeliveryRules,
    language: str,
    now: datetime,
) -> DeliveryPlan:
    """Telegram for a linked patient the bot may write to, else e-mail, else the link only.

    A patient asked about a visit within the survey gap is not asked again: the link is
    still made, for the clinic to use as it sees fit. The address stays with a Telegram
    survey until it is delivered, so that a patient who blocked the bot meanwhile is
    e-mailed instead.
    """
    due_at = max(event.visit_at + rules.invite_delay, now)
    if asked_recently:
        return DeliveryPlan(Delivery.NONE, due_at)
    address = event.patient.email if rules.mails else None
    if linked is not None and linked.reachable:
        mail = (
            None
            if address is None
            else MailOrder(address, event.patient.first_name, language, held=True)
        )
        return DeliveryPlan(
            Delivery.TELEGRAM, due_at, ask_in_telegram=linked.patient_id, mail=mail
        )
    if address is not None:
        mail = MailOrder(address, event.patient.first_name, language, held=False)
        return DeliveryPlan(Delivery.EMAIL, due_at, mail=mail)
    return DeliveryPlan(Delivery.NONE, due_at)


@dataclass(frozen=True, slots=True)
class OwedMail:
    """An e-mail invitation due now, with what it says."""

    visit_id: int
    invitation: Invitation
    address: str
    first_name: str | None
    language: str
    attempts: int
