"""The survey flow engine: pure decisions about what to ask next and what an answer means.

Nothing here stores or sends anything; the feedback service commits each decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.surveys import AnswerValue, Question, QuestionType, Survey

SKIP = "skip"
"""The button value that skips an optional question."""


class InvalidAnswerError(ValueError):
    """The value does not answer the question (out of range, unknown option, ...)."""


@dataclass(frozen=True, slots=True)
class Step:
    """The question to ask now, with its wording and place in the survey."""

    question: Question
    text: str
    number: int
    total: int


def next_step(survey: Survey, answers: Mapping[str, AnswerValue]) -> Step | None:
    """The first unanswered question, or `None` when the survey is complete.

    A skipped question is answered (with `None`), so it is not asked again.
    """
    for number, question in enumerate(survey.questions, start=1):
        if question.id not in answers:
            return Step(
                question=question,
                text=question.wording(answers),
                number=number,
                total=len(survey.questions),
            )
    return None


def parse_button(question: Question, raw: str) -> AnswerValue:
    """Turn a pressed button's value into an answer, refusing values the survey never offered.

    Button data comes from the client and can be forged, so it is checked like typed input.
    """
    if raw == SKIP:
        if not question.optional:
            raise InvalidAnswerError("this question cannot be skipped")
        return None
    if question.type in (QuestionType.RATING, QuestionType.NPS):
        return _in_scale(question, raw)
    if question.type is QuestionType.CHOICE:
        if raw not in {option.id for option in question.options}:
            raise InvalidAnswerError("not one of the options")
        return raw
    raise InvalidAnswerError("this question takes typed text, not a button")


def parse_typed(question: Question, text: str) -> tuple[AnswerValue, bool]:
    """Turn typed text into an answer; the flag says whether the text was cut to fit.

    Patients often type "4" instead of tapping, or the label of a choice, so both count.
    """
    if question.type is QuestionType.TEXT:
        cleaned = text.strip()
        if not cleaned:
            raise InvalidAnswerError("empty text")
        if len(cleaned) > question.max_length:
            return cleaned[: question.max_length], True
        return cleaned, False
    if question.type in (QuestionType.RATING, QuestionType.NPS):
        return _in_scale(question, text.strip()), False
    wanted = text.strip().casefold()
    for option in question.options:
        if wanted in (option.label.casefold(), option.id):
            return option.id, False
    raise InvalidAnswerError("not one of the options")


def _in_scale(question: Question, raw: str) -> int:
    # ASCII digits only: int() would also accept "٣" or " +4 ", which no button sends.
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidAnswerError("not a number")
    value = int(raw)
    if value not in question.scale:
        raise InvalidAnswerError("out of range")
    return value
