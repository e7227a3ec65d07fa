"""Visits announced by a booking system: what an event says, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True, slots=True)
class VisitEventRecord:
    """An announced visit as kept: the event, when it came, its invitation and delivery."""

    source: str
    event_id: str
    received_at: datetime
    invitation: Invitation
    delivery: Delivery

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
