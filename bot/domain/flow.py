"""The survey flow engine: pure decisions about what to ask next and what an answer means.

Nothing here stores or sends anything; the feedback service commits each decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.surveys import (
    NUMERIC_TYPES,
    AnswerValue,
    LocalizedText,
    Question,
    QuestionType,
    Survey,
    name_key,
)

SKIP = "skip"
"""The button value that skips an optional question."""

YES, NO = "yes", "no"
"""The button values of a yes/no question."""

DONE = "="
"""Prefix of a multiple-choice "Done" value: `=` and the selection as a hex bit mask."""

_TYPED_YES = {"yes", "y", "sí", "si", "s", "true", "1"}
_TYPED_NO = {"no", "n", "false", "0"}


class InvalidAnswerError(ValueError):
    """The value does not answer the question (out of range, unknown option, ...)."""


@dataclass(frozen=True, slots=True)
class Step:
    """The question to ask now, with its wording and place in the survey."""

    question: Question
    text: str
    number: int
    total: int
    about_visit: bool = False
    """The step asks which treatment the visit was for; its answer describes the visit."""


def next_step(
    survey: Survey,
    answers: Mapping[str, AnswerValue],
    language: str = "en",
    default_language: str = "en",
) -> Step | None:
    """The first unanswered question that applies, or `None` when the survey is complete.

    A skipped question is answered (with `None`), so it is not asked again. A question whose
    `show_if` does not hold is passed over. Progress counts the questions that still may be
    asked, so "3 of 4" can become "3 of 3" when a branch is left out.
    """
    shown = [q for q in survey.questions if _may_apply(q, answers)]
    for number, question in enumerate(shown, start=1):
        if question.id not in answers and question.applies(answers):
            return Step(
                question=question,
                text=question.wording(answers, language, default_language),
                number=number,
                total=len(shown),
            )
    return None


def _may_apply(question: Question, answers: Mapping[str, AnswerValue]) -> bool:
    # A question whose condition rests on an unanswered question may still come.
    condition = question.show_if
    return condition is None or condition.question not in answers or condition.holds(answers)


def parse_button(question: Question, raw: str) -> AnswerValue:
    """Turn a pressed button's value into an answer, refusing values the survey never offered.

    Button data comes from the client and can be forged, so it is checked like typed input.
    """
    if raw == SKIP:
        if question.required:
            raise InvalidAnswerError("this question cannot be skipped")
        return None
    if question.type in NUMERIC_TYPES:
        value = _in_scale(question, raw)
        if raw != str(value):  # "05" or "005": no button of ours sends that
            raise InvalidAnswerError("not a value a button carries")
        return value
    if question.type is QuestionType.CHOICE:
        if raw not in {option.id for option in question.options}:
            raise InvalidAnswerError("not one of the options")
        return raw
    if question.type is QuestionType.YES_NO:
        if raw not in (YES, NO):
            raise InvalidAnswerError("not yes or no")
        return raw == YES
    if question.type is QuestionType.MULTIPLE_CHOICE and raw.startswith(DONE):
        return _multiple(question, selection_from_mask(question, raw.removeprefix(DONE)))
    raise InvalidAnswerError("this question takes typed text, not a button")


def _multiple(question: Question, selected: list[str]) -> AnswerValue:
    if selected:
        return ",".join(selected)
    if question.required:
        raise InvalidAnswerError("choose at least one option")
    return None


def parse_typed(question: Question, text: str) -> tuple[AnswerValue, bool]:
    """Turn typed text into an answer; the flag says whether the text was cut to fit.

    Patients often type "4" instead of tapping, or a button's words ("Poor", "mala",
    "Dermal filler"), in any of the survey's languages, so all of these count; case,
    accents, spaces and punctuation do not matter.
    """
    cleaned = text.strip()
    if question.type is QuestionType.TEXT:
        if not cleaned:
            raise InvalidAnswerError("empty text")
        if len(cleaned) > question.max_length:
            return cleaned[: question.max_length], True
        return cleaned, False
    if question.type in NUMERIC_TYPES:
        return _in_scale_or_labelled(question, cleaned), False
    wanted = cleaned.casefold()
    if question.type is QuestionType.YES_NO and wanted in _TYPED_YES | _TYPED_NO:
        return wanted in _TYPED_YES, False
    if question.type is QuestionType.CHOICE:
        for option in question.options:
            if name_key(cleaned) in {name_key(option.id), *_keys(option.label)}:
                return option.id, False
    raise InvalidAnswerError("not one of the options")


def _keys(text: LocalizedText) -> set[str]:
    """A button's words in each language, as `name_key` matches them."""
    return {name_key(words) for words in ([text] if isinstance(text, str) else text.values())}


def _in_scale_or_labelled(question: Question, raw: str) -> int:
    try:
        return _in_scale(question, raw)
    except InvalidAnswerError:
        wanted = name_key(raw)
        for value, label in zip(question.scale, question.labels, strict=False):
            if wanted and wanted in _keys(label):
                return value
        raise


def selection_from_mask(question: Question, mask: str) -> list[str]:
    """The option ids a multiple-choice bit mask stands for, refusing impossible masks."""
    try:
        bits = int(mask, 16)
    except ValueError:
        raise InvalidAnswerError("not a selection") from None
    if bits < 0 or bits >= 1 << len(question.options) or mask != f"{bits:x}":
        raise InvalidAnswerError("not a selection")
    return [option.id for index, option in enumerate(question.options) if bits >> index & 1]


def _in_scale(question: Question, raw: str) -> int:
    # ASCII digits only: int() would also accept "٣" or " +4 ", which no button sends.
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidAnswerError("not a number")
    value = int(raw)
    if value not in question.scale:
        raise InvalidAnswerError("out of range")
    return value
