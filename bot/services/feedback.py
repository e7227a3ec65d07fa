"""The patient's side: consent, language, invitations, one answer at a time, cancel, forget."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.alerts import alert_reasons
from bot.domain.audit import A_PATIENT, AuditAction
from bot.domain.flow import InvalidAnswerError, Step, next_step, parse_button, parse_typed
from bot.domain.models import (
    AlertReason,
    AlertThresholds,
    Answer,
    AnswerCommit,
    InvitationState,
    Notice,
    Patient,
    Response,
    ResponseStatus,
    ScheduledFollowup,
    Visit,
)
from bot.domain.surveys import (
    TREATMENT_QUESTION,
    AnswerValue,
    Option,
    Question,
    QuestionType,
    Survey,
    SurveyCatalog,
)
from bot.services.audit import AuditService
from bot.services.ports import Clock, HandledEvents, PatientSurveys, SentimentScorer


@dataclass(frozen=True, slots=True)
class NeedsConsent:
    """The patient has not agreed yet: show the consent message, store nothing.

    `invitation_code` travels with the consent buttons, since nothing may be stored yet.
    """

    invitation_code: str | None = None
    links_booking_patient: bool = False
    """Agreeing links the booking system's patient id: the consent says so."""


@dataclass(frozen=True, slots=True)
class InvitationRefused:
    """The invitation code cannot be used (`state` says why)."""

    state: InvitationState


@dataclass(frozen=True, slots=True)
class Asking:
    """A survey is in progress and this is the question to (re)ask."""

    response_id: str
    step: Step
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class Accepted:
    """The answer is stored; `next` is the following question, `None` when finished."""

    response_id: str
    answered: Step
    value: AnswerValue
    next: Step | None
    truncated: bool
    raised_alert: bool
    clinical: bool = False
    """The answer mentions a possible complication: tell the patient the clinic will call."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """The input does not answer the current question; ask it again."""

    response_id: str
    step: Step


@dataclass(frozen=True, slots=True)
class AlreadyAnswered:
    """A button for a question that already has an answer."""


@dataclass(frozen=True, slots=True)
class NotAsked:
    """The current question never reached the patient: send it, take nothing as its answer.

    A reply typed after a failed send (or a crash) answers the question before it, not this
    one: a retyped "5" must not become the NPS.
    """

    response_id: str
    step: Step
    arrived_since: bool = False
    """The question did reach the patient, after this reply: it is already below it."""


@dataclass(frozen=True, slots=True)
class Stale:
    """A button from a survey that is finished, cancelled, erased or not this patient's."""


@dataclass(frozen=True, slots=True)
class NoSurvey:
    """Input arrived while no survey is in progress."""


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The survey was stopped; `alert_changed` if staff should see its new status."""

    alert_changed: bool


@dataclass(frozen=True, slots=True)
class AlreadyAgreed:
    """A second tap on "I agree": the survey is under way and its question delivered."""


@dataclass(frozen=True, slots=True)
class OwedQuestion:
    """A question the patient is owed: their answer is stored, the next never arrived."""

    external_id: int
    language: str
    asking: Asking


# Older than a day, an owed question is left for the patient's own next message.
OWED_UNTIL = timedelta(days=1)


# A survey ending with one of these offers the patient a call from the clinic.
LOW_SCORES = frozenset({AlertReason.LOW_CSAT, AlertReason.LOW_NPS})

StartOutcome = NeedsConsent | InvitationRefused | Asking
ConsentOutcome = StartOutcome | AlreadyAgreed
AnswerOutcome = Accepted | Rejected | AlreadyAnswered | NotAsked | Stale | NoSurvey | NeedsConsent


def _delivered(response: Response, step: Step) -> bool:
    """Whether the question the patient is on has reached them."""
    return response.asked_question == step.question.id


class FeedbackService:
    """Walks patients through surveys, committing every answer before the next question.

    Where a patient is in a survey is always read from the store, never kept in memory,
    so a restart (even a crash) resumes exactly where the patient was.
    """

    def __init__(  # noqa: PLR0913 - its collaborators and the clinic's rules, each named
        self,
        store: PatientSurveys,
        events: HandledEvents,
        surveys: SurveyCatalog,
        scorer: SentimentScorer,
        clock: Clock,
        *,
        thresholds: AlertThresholds,
        languages: Collection[str],
        audit: AuditService,
        followup_window: timedelta = timedelta(days=14),
        invites_review: bool = False,
        offers_call: bool = False,
    ) -> None:
        self._store = store
        self._audit = audit
        self._events = events
        self._invites_review = invites_review
        self._offers_call = offers_call
        self._surveys = surveys
        self._scorer = scorer
        self._clock = clock
        self._thresholds = thresholds
        self._followup_window = followup_window
        self._languages = frozenset(languages)
        self._default_language = (
            surveys.default_language if surveys.default_language in self._languages else "en"
        )

    @property
    def default_language(self) -> str:
        """The clinic's language: staff messages and the fallback for patients."""
        return self._default_language

    async def language_for(self, external_id: int, hint: str | None) -> str:
        """The patient's chosen language, else their Telegram language, else the clinic's."""
        patient = await self._store.get_patient(external_id)
        return self.pick_language(patient.language if patient else None, hint)

    def pick_language(self, chosen: str | None, hint: str | None) -> str:
        """The first of `chosen` and `hint` (e.g. "es-MX") that the bot speaks."""
        for candidate in (chosen, (hint or "")[:2].lower()):
            if candidate in self._languages:
                return candidate
        return self._default_language

    async def set_language(self, external_id: int, language: str) -> bool:
        """Remember a patient's language; `False` for someone who has not agreed (not stored)."""
        if language not in self._languages:
            raise ValueError(f"unsupported language {language!r}")
        return await self._store.set_language(external_id, language)

    async def begin(
        self, external_id: int, language: str, invitation_code: str | None = None
    ) -> StartOutcome:
        """Start a survey (the invitation's, or the default), or resume the one in progress."""
        patient = await self._store.get_patient(external_id)
        if invitation_code is not None:
            refused = await self._check_invitation(invitation_code, patient)
            if refused is not None:
                return refused
        if patient is None:
            links = invitation_code is not None and await self._store.links_booking_patient(
                invitation_code
            )
            return NeedsConsent(invitation_code, links_booking_patient=links)
        return await self._resume_or_start(patient, language, invitation_code)

    async def consent(
        self, external_id: int, language: str, invitation_code: str | None = None
    ) -> ConsentOutcome:
        """Record the patient's agreement (and language) and start the survey."""
        before = await self._store.get_patient(external_id)
        if before is not None and invitation_code is None:
            response = await self._store.open_response(before.id)
            step = None if response is None else self._step(response, language)
            if response is not None and step is not None and _delivered(response, step):
                return AlreadyAgreed()
        patient = await self._store.add_patient(external_id, self._clock.now(), language)
        if invitation_code is not None:
            refused = await self._check_invitation(invitation_code, patient)
            if refused is not None:
                return refused
        return await self._resume_or_start(patient, language, invitation_code)

    async def current(self, external_id: int, language: str) -> Asking | None:
        """The question the patient is on, if a survey is in progress."""
        response = await self._open_response(external_id)
        if response is None:
            return None
        step = self._step(response, language)
        return None if step is None else Asking(response.id, step, resumed=True)

    async def answer_button(  # noqa: PLR0913 - the tap's fields, as Telegram delivers them
        self,
        external_id: int,
        response_id: str,
        question_id: str,
        raw: str,
        *,
        language: str,
        dedup_key: int | None = None,
    ) -> AnswerOutcome:
        """A tapped button: checked against the store, since button data can be forged."""
        patient = await self._store.get_patient(external_id)
        if patient is None:
            return Stale()
        response = await self._store.get_response(response_id)
        if response is None or response.patient_id != patient.id:
            return Stale()
        answered = question_id in response.values or (
            question_id == TREATMENT_QUESTION and response.visit is not None
        )
        if response.status is not ResponseStatus.IN_PROGRESS:
            return AlreadyAnswered() if answered else Stale()
        step = self._step(response, language)
        if answered:
            if step is not None and not _delivered(response, step):
                return NotAsked(response.id, step)  # tapped again: the next never arrived
            return AlreadyAnswered()
        if step is None or step.question.id != question_id:
            # A button for a question further on (forged) or one the flow has not reached.
            return Stale()
        try:
            value = parse_button(step.question, raw)
        except InvalidAnswerError:
            return Rejected(response.id, step)
        return await self._commit(
            response, step, value, language=language, truncated=False, dedup_key=dedup_key
        )

    async def answer_text(
        self,
        external_id: int,
        text: str,
        *,
        language: str,
        message_id: int | None = None,
        dedup_key: int | None = None,
    ) -> AnswerOutcome:
        """A typed message, taken as the answer to the current question if it fits.

        Only if the question was delivered before the message was sent: in a private chat
        Telegram numbers both sides' messages in one sequence, so a lower `message_id` was
        sent before the question existed.
        """
        patient = await self._store.get_patient(external_id)
        if patient is None:
            return NeedsConsent()
        response = await self._store.open_response(patient.id)
        step = None if response is None else self._step(response, language)
        if response is None or step is None:
            return NoSurvey()
        if not _delivered(response, step):
            return NotAsked(response.id, step)
        if (
            message_id is not None
            and response.asked_message_id is not None
            and message_id < response.asked_message_id
        ):
            return NotAsked(response.id, step, arrived_since=True)
        named = self._surveys.treatment_named(text) if step.about_visit else None
        try:
            # The treatment by any name the clinic knows it by ("Botox", "lip filler").
            value, truncated = (named.id, False) if named else parse_typed(step.question, text)
        except InvalidAnswerError:
            return Rejected(response.id, step)
        return await self._commit(
            response, step, value, language=language, truncated=truncated, dedup_key=dedup_key
        )

    async def asked(self, response_id: str, question_id: str, message_id: int) -> None:
        """The question reached the patient as this message: a reply after it may answer it."""
        await self._store.mark_asked(response_id, question_id, message_id)

    async def patients_owed_a_question(self) -> list[int]:
        """Patients whose next question a fault or a crash cut off after their answer.

        Read without the patients' lanes: `owed_question` says, inside each, what is owed.
        """
        return await self._store.patients_owed_a_question(self._clock.now() - OWED_UNTIL)

    async def owed_question(self, external_id: int) -> OwedQuestion | None:
        """The question this patient is owed, if their answer is stored and it never arrived."""
        patient = await self._store.get_patient(external_id)
        response = None if patient is None else await self._store.open_response(patient.id)
        if patient is None or response is None or not response.answers:
            return None
        language = self.pick_language(patient.language, None)
        step = self._step(response, language)
        if step is None or _delivered(response, step):
            return None
        return OwedQuestion(external_id, language, Asking(response.id, step))

    async def cancel(self, external_id: int) -> Cancelled | None:
        """Stop the survey in progress, keeping the answers given; `None` if there was none."""
        response = await self._open_response(external_id)
        if response is None:
            return None
        return Cancelled(alert_changed=await self._store.abandon(response.id))

    async def forget(self, external_id: int) -> bool:
        """Erase everything stored about the patient; whether there was anything.

        The audit trail counts the erasure and names no one: what was forgotten stays so.
        """
        erased = await self._store.forget_patient(external_id, self._clock.now())
        if erased:
            await self._audit.record(A_PATIENT, AuditAction.FORGET, detail="1 patient erased")
        return erased

    async def remember_handled(self, dedup_key: int) -> None:
        """Note an event that changed nothing, so a redelivery of it is ignored too."""
        await self._events.mark_seen(dedup_key, self._clock.now())

    async def already_handled(self, dedup_key: int) -> bool:
        """Whether this event was handled before (a redelivery)."""
        return await self._events.seen(dedup_key)

    async def _check_invitation(
        self, code: str, patient: Patient | None
    ) -> InvitationRefused | None:
        invitation = await self._store.get_invitation(code)
        if invitation is None or self._surveys.get(invitation.survey_id) is None:
            return InvitationRefused(InvitationState.UNKNOWN)
        state = invitation.state_for(patient.id if patient else None, self._clock.now())
        return None if state is InvitationState.VALID else InvitationRefused(state)

    async def _open_response(self, external_id: int) -> Response | None:
        patient = await self._store.get_patient(external_id)
        return None if patient is None else await self._store.open_response(patient.id)

    async def _resume_or_start(
        self, patient: Patient, language: str, invitation_code: str | None
    ) -> Asking:
        response = await self._store.open_response(patient.id)
        invitation = await self._store.get_invitation(invitation_code) if invitation_code else None
        if response is not None:
            same_link = invitation_code is None or response.invitation_code == invitation_code
            step = self._step(response, language)
            if step is not None and same_link:
                return Asking(response.id, step, resumed=True)
            # A new invitation replaces the survey in progress; its answers are kept.
            await self._store.abandon(response.id)
        survey = self._surveys.get(invitation.survey_id) if invitation else None
        survey = survey or self._surveys.default
        response = await self._store.start_response(
            patient.id, survey.id, self._clock.now(), invitation_code
        )
        first = self._step(response, language)
        if first is None:  # pragma: no cover - a survey has at least one question
            raise AssertionError("survey without questions")
        return Asking(response.id, first)

    def _followups(self, response: Response) -> tuple[ScheduledFollowup, ...]:
        """The follow-ups a completed response schedules, timed for its treatment."""
        treatment = response.visit.treatment if response.visit else None
        now = self._clock.now()
        scheduled = []
        for rule in self._surveys.followups_after(response.survey_id):
            due = now + timedelta(days=rule.delay_for(treatment))
            scheduled.append(ScheduledFollowup(rule.survey, due, due + self._followup_window))
        return tuple(scheduled)

    def _survey(self, response: Response) -> Survey:
        survey = self._surveys.get(response.survey_id)
        if survey is None:
            # The clinic removed the survey this response was started with.
            raise LookupError(f"survey {response.survey_id!r} is no longer defined")
        return survey

    def _step(self, response: Response, language: str) -> Step | None:
        if response.visit is None and self._surveys.treatments and not response.answers:
            return self._treatment_step()
        return next_step(
            self._survey(response), response.values, language, self._surveys.default_language
        )

    def _treatment_step(self) -> Step:
        # Worded by the handlers' catalogue ("Which treatment did you have?"), not the file.
        question = Question(
            id=TREATMENT_QUESTION,
            type=QuestionType.CHOICE,
            text=TREATMENT_QUESTION,
            options=tuple(Option(id=t.id, label=t.label) for t in self._surveys.treatments),
        )
        return Step(question=question, text="", number=0, total=0, about_visit=True)

    async def _commit(  # noqa: PLR0913 - one answer and how it arrived
        self,
        response: Response,
        step: Step,
        value: AnswerValue,
        *,
        language: str,
        truncated: bool,
        dedup_key: int | None,
    ) -> AnswerOutcome:
        question = step.question
        if step.about_visit and isinstance(value, str):
            # The treatment question: it describes the visit rather than answering the survey.
            if not await self._store.attach_visit(response.id, Visit(value), self._clock.now()):
                return AlreadyAnswered()
            updated = await self._store.get_response(response.id)
            following = self._step(updated, language) if updated else None
            return Accepted(
                response.id, step, value, following, truncated=False, raised_alert=False
            )
        sentiment = None
        if question.type is QuestionType.TEXT and isinstance(value, str):
            sentiment = self._scorer.score(value, language)
        answer = Answer(question.id, value, self._clock.now(), sentiment)
        answers = (*response.answers, answer)
        values = {**response.values, question.id: value}
        following = next_step(
            self._survey(response), values, language, self._surveys.default_language
        )
        reasons = alert_reasons(answers, self._thresholds, self._survey(response).roles)
        clinical = sentiment is not None and sentiment.clinical
        notices: tuple[Notice, ...] = (Notice.SAFETY_ADVICE,) if clinical else ()
        if following is None:
            notices += (Notice.THANKS,)
            if self._offers_call and LOW_SCORES & set(reasons):
                notices += (Notice.CALL_OFFER,)
            if self._invites_review:
                notices += (Notice.REVIEW_INVITATION,)
        stored = await self._store.commit_answer(
            AnswerCommit(
                response_id=response.id,
                answer=answer,
                completes=following is None,
                alert_reasons=reasons,
                dedup_key=dedup_key,
                followups=self._followups(response) if following is None else (),
                notices=notices,
                spends_invitation=response.spent_by(completes=following is None),
            )
        )
        if not stored:
            return AlreadyAnswered()
        return Accepted(
            response_id=response.id,
            answered=step,
            value=value,
            next=following,
            truncated=truncated,
            # Staff see every answer of a flagged response, so each new one updates the alert.
            raised_alert=bool(reasons),
            clinical=clinical,
        )
