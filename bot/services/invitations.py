"""Visit invitations: single-use codes that tie a patient's answers to a visit."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from bot.domain.models import Invitation, Visit
from bot.domain.surveys import SurveyCatalog
from bot.services.ports import Clock

CODE_BYTES = 16
"""128 random bits: unguessable, and 22 characters of A-Za-z0-9_- as a /start payload."""


class InvitationStore(Protocol):
    """Where invitations are kept."""

    async def create_invitation(self, invitation: Invitation) -> None:
        """Store a new invitation code."""
        ...


class UnknownSurveyError(ValueError):
    """The survey asked for is not in the clinic's survey file."""


class UnknownTreatmentError(ValueError):
    """The treatment is not in the clinic's catalogue (`known` lists what is)."""

    def __init__(self, treatment: str, known: list[str], closest: list[str]) -> None:
        guess = f" (did you mean {' or '.join(closest)}?)" if closest else ""
        super().__init__(
            f"unknown treatment {treatment!r}{guess}; the catalogue has {', '.join(known)}"
        )
        self.known = known
        self.closest = closest


def invitation_link(bot_username: str, code: str) -> str:
    """The t.me deep link that opens the bot with the code as /start payload."""
    return f"https://t.me/{bot_username}?start={code}"


class InvitationService:
    """Creates invitation codes for visits."""

    def __init__(
        self,
        store: InvitationStore,
        surveys: SurveyCatalog,
        clock: Clock,
        validity: timedelta,
    ) -> None:
        self._store = store
        self._surveys = surveys
        self._clock = clock
        self._validity = validity

    @property
    def survey_ids(self) -> list[str]:
        """The surveys an invitation can name."""
        return [survey.id for survey in self._surveys.surveys]

    def treatment_id(self, typed: str) -> str:
        """The catalogue id for a treatment typed by staff: its id, a label or an alias.

        Case, accents, spaces and punctuation do not matter ("juvederm" is Juvéderm). Without
        a catalogue any treatment goes; with one, only what it lists, so reports group
        visits under one name.
        """
        if not self._surveys.treatments:
            return typed.strip()
        treatment = self._surveys.treatment_named(typed)
        if treatment is None:
            raise UnknownTreatmentError(
                typed,
                [t.id for t in self._surveys.treatments],
                self._surveys.treatment_names_like(typed),
            )
        return treatment.id

    async def create(self, visit: Visit, survey_id: str | None = None) -> Invitation:
        """A new single-use invitation for `visit`, valid for the configured time, stored."""
        invitation = self.new(visit, survey_id)
        await self._store.create_invitation(invitation)
        return invitation

    def new(self, visit: Visit, survey_id: str | None = None) -> Invitation:
        """A new single-use invitation for `visit`, not stored yet (its caller stores it)."""
        survey = self._surveys.get(survey_id) if survey_id else self._surveys.default
        if survey is None:
            raise UnknownSurveyError(
                f"unknown survey {survey_id!r}; the file has {', '.join(self.survey_ids)}"
            )
        if visit.treatment is not None:
            visit = replace(visit, treatment=self.treatment_id(visit.treatment))
        now = self._clock.now()
        return Invitation(
            code=secrets.token_urlsafe(CODE_BYTES),
            survey_id=survey.id,
            visit=visit,
            created_at=now,
            expires_at=now + self._validity,
        )
