"""Visits a booking system announces: each becomes an invitation, once per event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.domain.intake import (
    DeliveryPlan,
    DeliveryRules,
    FieldProblem,
    LinkedPatient,
    Planner,
    RecordedVisit,
    VisitEvent,
    plan_delivery,
)
from bot.domain.models import Invitation
from bot.services.invitations import InvitationService, UnknownTreatmentError
from bot.services.ports import Clock

API_SOURCE = "api"
"""Events posted to the intake API itself (booking systems' own webhooks name theirs)."""


class VisitEvents(Protocol):
    """Where announced visits are kept, each event once."""

    async def record_visit(  # noqa: PLR0913 - the event, what it made, and what decides the rest
        self,
        source: str,
        event: VisitEvent,
        invitation: Invitation,
        now: datetime,
        *,
        asked_since: datetime | None,
        plan: Planner,
    ) -> RecordedVisit:
        """Store the invitation, the event and what the bot owes for it, together.

        `plan` is given the patient's link and whether they were asked since `asked_since`,
        as the store reads them in the same transaction. An event seen before answers as
        it did, and stores nothing.
        """
        ...


class VisitRefusedError(ValueError):
    """The event names what the clinic does not have: each field's problem."""

    def __init__(self, problems: tuple[FieldProblem, ...]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.problem}" for p in problems))
        self.problems = problems


class VisitIntakeService:
    """Turns an announced visit into its invitation, once however often it is announced."""

    def __init__(
        self,
        store: VisitEvents,
        invitations: InvitationService,
        clock: Clock,
        *,
        rules: DeliveryRules,
        pick_language: Callable[[str | None, str | None], str],
    ) -> None:
        self._store = store
        self._invitations = invitations
        self._clock = clock
        self._rules = rules
        self._pick_language = pick_language

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
        now = self._clock.now()
        language = self._pick_language(None, event.patient.language)
        rules = self._rules

        def plan(linked: LinkedPatient | None, asked_recently: bool) -> DeliveryPlan:  # noqa: FBT001 - the Planner's shape
            return plan_delivery(
                event,
                linked,
                asked_recently=asked_recently,
                rules=rules,
                language=language,
                now=now,
            )

        gap = rules.survey_gap
        return await self._store.record_visit(
            source,
            event,
            invitation,
            now,
            asked_since=None if gap is None else now - gap,
            plan=plan,
        )
