"""Visits a booking system announces: each becomes an invitation, once per event."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.domain.intake import Delivery, FieldProblem, RecordedVisit, VisitEvent
from bot.domain.models import Invitation
from bot.services.invitations import InvitationService, UnknownTreatmentError
from bot.services.ports import Clock

API_SOURCE = "api"
"""Events posted to the intake API itself (booking systems' own webhooks name theirs)."""


class VisitEvents(Protocol):
    """Where announced visits are kept, each event once."""

    async def record_visit(
        self, source: str, event_id: str, invitation: Invitation, delivery: Delivery, now: datetime
    ) -> RecordedVisit:
        """Store the invitation with the event; an event seen before answers as it did."""
        ...


class VisitRefusedError(ValueError):
    """The event names what the clinic does not have: each field's problem."""

    def __init__(self, problems: tuple[FieldProblem, ...]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.problem}" for p in problems))
        self.problems = problems


class VisitIntakeService:
    """Turns an announced visit into its invitation, once however often it is announced."""

    def __init__(self, store: VisitEvents, invitations: InvitationService, clock: Clock) -> None:
        self._store = store
        self._invitations = invitations
        self._clock = clock

    async def receive(self, event: VisitEvent, source: str = API_SOURCE) -> RecordedVisit:
        """The event's invitation: made now, or the one it made before.

        Raises `VisitRefusedError` for a treatment or survey the clinic does not have.
        """
        problems = []
        try:
            self._invitations.treatment_id(event.treatment)
        except UnknownTreatmentError as error:
            problems.append(
                FieldProblem(
                    field="treatment", problem=str(error), did_you_mean=tuple(error.closest)
                )
            )
        if event.survey is not None and event.survey not in self._invitations.survey_ids:
            known = ", ".join(self._invitations.survey_ids)
            problems.append(
                FieldProblem(
                    field="survey",
                    problem=f"unknown survey {event.survey!r}; the survey file has {known}",
                )
            )
        if problems:
            raise VisitRefusedError(tuple(problems))
        invitation = self._invitations.new(event.visit(), event.survey)
        # The booking system sends the link itself until the bot can ask the patient.
        return await self._store.record_visit(
            source, event.event_id, invitation, Delivery.NONE, self._clock.now()
        )
