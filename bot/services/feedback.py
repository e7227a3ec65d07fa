"""The patient's side: consent, one answer at a time, cancel and forget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.domain.alerts import alert_reasons
from bot.domain.flow import InvalidAnswerError, Step, next_step, parse_button, parse_typed
from bot.domain.models import AlertThresholds, Answer, Patient, Response, ResponseStatus
from bot.domain.surveys import AnswerValue, QuestionType, Survey, SurveyCatalog
from bot.services.ports import AnswerCommit, Clock, ResponseStore, SentimentScorer


@dataclass(frozen=True, slots=True)
class NeedsConsent:
    """The patient has not agreed yet: show the consent message, store nothing."""


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


@dataclass(frozen=True, slots=True)
class Rejected:
    """The input does not answer the current question; ask it again."""

    response_id: str
    step: Step


@dataclass(frozen=True, slots=True)
class AlreadyAnswered:
    """A button for a question that already has an answer."""


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


AnswerOutcome = Accepted | Rejected | AlreadyAnswered | Stale | NoSurvey | NeedsConsent


class FeedbackService:
    """Walks patients through surveys, committing every answer before the next question.

    Where a patient is in a survey is always read from the store, never kept in memory,
    so a restart (even a crash) resumes exactly where the patient was.
    """

    def __init__(
        self,
        store: ResponseStore,
        surveys: SurveyCatalog,
        scorer: SentimentScorer,
        clock: Clock,
        thresholds: AlertThresholds,
    ) -> None:
        self._store = store
        self._surveys = surveys
        self._scorer = scorer
        self._clock = clock
        self._thresholds = thresholds

    async def begin(self, external_id: int) -> NeedsConsent | Asking:
        """Start the default survey, or resume the one in progress."""
        patient = await self._store.get_patient(external_id)
        if patient is None:
            return NeedsConsent()
        return await self._resume_or_start(patient)

    async def consent(self, external_id: int) -> Asking:
        """Record the patient's agreement and start the survey."""
        patient = await self._store.add_patient(external_id, self._clock.now())
        return await self._resume_or_start(patient)

    async def current(self, external_id: int) -> Asking | None:
        """The question the patient is on, if a survey is in progress."""
        response = await self._open_response(external_id)
        if response is None:
            return None
        step = self._step(response)
        return None if step is None else Asking(response.id, step, resumed=True)

    async def answer_button(
        self,
        external_id: int,
        response_id: str,
        question_id: str,
        raw: str,
        dedup_key: int | None = None,
    ) -> AnswerOutcome:
        """A tapped button: checked against the store, since button data can be forged."""
        patient = await self._store.get_patient(external_id)
        if patient is None:
            return Stale()
        response = await self._store.get_response(response_id)
        if response is None or response.patient_id != patient.id:
            return Stale()
        if question_id in response.values:
            return AlreadyAnswered()
        if response.status is not ResponseStatus.IN_PROGRESS:
            return Stale()
        step = self._step(response)
        if step is None or step.question.id != question_id:
            # A button for a question further on (forged) or one the flow has not reached.
            return Stale()
        try:
            value = parse_button(step.question, raw)
        except InvalidAnswerError:
            return Rejected(response.id, step)
        return await self._commit(response, step, value, truncated=False, dedup_key=dedup_key)

    async def answer_text(
        self, external_id: int, text: str, dedup_key: int | None = None
    ) -> AnswerOutcome:
        """A typed message, taken as the answer to the current question if it fits."""
        patient = await self._store.get_patient(external_id)
        if patient is None:
            return NeedsConsent()
        response = await self._store.open_response(patient.id)
        step = None if response is None else self._step(response)
        if response is None or step is None:
            return NoSurvey()
        try:
            value, truncated = parse_typed(step.question, text)
        except InvalidAnswerError:
            return Rejected(response.id, step)
        return await self._commit(response, step, value, truncated=truncated, dedup_key=dedup_key)

    async def cancel(self, external_id: int) -> Cancelled | None:
        """Stop the survey in progress, keeping the answers given; `None` if there was none."""
        response = await self._open_response(external_id)
        if response is None:
            return None
        return Cancelled(alert_changed=await self._store.abandon(response.id))

    async def forget(self, external_id: int) -> bool:
        """Erase everything stored about the patient; whether there was anything."""
        return await self._store.forget_patient(external_id)

    async def purge_expired(self, retention: timedelta) -> int:
        """Delete what is older than the retention period promised at consent."""
        return await self._store.purge_before(self._clock.now() - retention)

    async def remember_handled(self, dedup_key: int) -> None:
        """Note an event that changed nothing, so a redelivery of it is ignored too."""
        await self._store.mark_seen(dedup_key, self._clock.now())

    async def already_handled(self, dedup_key: int) -> bool:
        """Whether this event was handled before (a redelivery)."""
        return await self._store.seen(dedup_key)

    async def _open_response(self, external_id: int) -> Response | None:
        patient = await self._store.get_patient(external_id)
        return None if patient is None else await self._store.open_response(patient.id)

    async def _resume_or_start(self, patient: Patient) -> Asking:
        response = await self._store.open_response(patient.id)
        if response is not None:
            step = self._step(response)
            if step is not None:
                return Asking(response.id, step, resumed=True)
        survey = self._surveys.default
        response = await self._store.start_response(patient.id, survey.id, self._clock.now())
        first = next_step(survey, {})
        if first is None:  # pragma: no cover - a survey has at least one question
            raise AssertionError("survey without questions")
        return Asking(response.id, first)

    def _survey(self, response: Response) -> Survey:
        survey = self._surveys.get(response.survey_id)
        if survey is None:
            # The clinic removed the survey this response was started with.
            raise LookupError(f"survey {response.survey_id!r} is no longer defined")
        return survey

    def _step(self, response: Response) -> Step | None:
        return next_step(self._survey(response), response.values)

    async def _commit(
        self,
        response: Response,
        step: Step,
        value: AnswerValue,
        *,
        truncated: bool,
        dedup_key: int | None,
    ) -> AnswerOutcome:
        question = step.question
        sentiment = None
        if question.type is QuestionType.TEXT and isinstance(value, str):
            sentiment = self._scorer.score(value)
        answer = Answer(question.id, value, self._clock.now(), sentiment)
        answers = (*response.answers, answer)
        values = {**response.values, question.id: value}
        following = next_step(self._survey(response), values)
        reasons = alert_reasons(answers, self._thresholds)
        stored = await self._store.commit_answer(
            AnswerCommit(
                response_id=response.id,
                answer=answer,
                completes=following is None,
                alert_reasons=reasons,
                dedup_key=dedup_key,
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
        )
