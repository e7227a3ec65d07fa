"""Surveys as data: the models a survey file is validated against."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Ids travel inside inline-button callback data, which Telegram caps at 64 bytes;
# keeping them short and plain leaves room for a response id and a value.
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,19}$")]

AnswerValue = int | str | bool | None


class QuestionType(StrEnum):
    """What kind of answer a question takes."""

    RATING = "rating"
    NPS = "nps"
    CHOICE = "choice"
    TEXT = "text"


class Condition(BaseModel):
    """A test on an earlier numeric answer, e.g. "csat at most 3"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: Identifier
    at_most: int | None = None
    at_least: int | None = None

    @model_validator(mode="after")
    def _has_a_bound(self) -> Self:
        if self.at_most is None and self.at_least is None:
            raise ValueError("a condition needs at_most or at_least")
        return self

    def holds(self, answers: Mapping[str, AnswerValue]) -> bool:
        """Whether the answers so far satisfy this condition."""
        value = answers.get(self.question)
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        if self.at_most is not None and value > self.at_most:
            return False
        return self.at_least is None or value >= self.at_least


class TextVariant(BaseModel):
    """Alternative wording of a question, used when its condition holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    when: Condition
    text: str = Field(min_length=1)


class Option(BaseModel):
    """One choice of a single-choice question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    label: str = Field(min_length=1, max_length=60)


class Question(BaseModel):
    """One question of a survey."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    type: QuestionType
    text: str = Field(min_length=1)
    variants: tuple[TextVariant, ...] = ()
    optional: bool = False
    scale_min: int = 1
    scale_max: int = 5
    options: tuple[Option, ...] = ()
    max_length: int = Field(default=4000, ge=1, le=4000)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.type is QuestionType.NPS:
            object.__setattr__(self, "scale_min", 0)
            object.__setattr__(self, "scale_max", 10)
        if self.type is QuestionType.RATING and not 0 <= self.scale_min < self.scale_max <= 10:
            raise ValueError("a rating scale must run upwards within 0..10")
        if self.type is QuestionType.CHOICE:
            if len(self.options) < 2:
                raise ValueError("a choice question needs at least two options")
            ids = [option.id for option in self.options]
            if len(set(ids)) != len(ids):
                raise ValueError("option ids must be unique")
        elif self.options:
            raise ValueError(f"only choice questions have options, not {self.type} questions")
        return self

    @property
    def scale(self) -> range:
        """The values a rating or NPS question accepts."""
        return range(self.scale_min, self.scale_max + 1)

    def wording(self, answers: Mapping[str, AnswerValue]) -> str:
        """The text to show, given the answers so far."""
        for variant in self.variants:
            if variant.when.holds(answers):
                return variant.text
        return self.text


class Survey(BaseModel):
    """An ordered list of questions with an id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    title: str = Field(min_length=1)
    questions: tuple[Question, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_are_sound(self) -> Self:
        seen: dict[str, Question] = {}
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"duplicate question id {question.id!r}")
            for variant in question.variants:
                earlier = seen.get(variant.when.question)
                if earlier is None:
                    raise ValueError(
                        f"question {question.id!r} depends on {variant.when.question!r}, "
                        "which is not an earlier question of this survey"
                    )
                if earlier.type not in (QuestionType.RATING, QuestionType.NPS):
                    raise ValueError(
                        f"question {question.id!r} depends on {earlier.id!r}, "
                        "which has no numeric answer"
                    )
            seen[question.id] = question
        return self

    def question(self, question_id: str) -> Question | None:
        """The question with this id, if the survey has one."""
        return next((q for q in self.questions if q.id == question_id), None)


class SurveyCatalog(BaseModel):
    """Every survey the clinic runs; the first one is what `/start` begins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    surveys: tuple[Survey, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [survey.id for survey in self.surveys]
        if len(set(ids)) != len(ids):
            raise ValueError("survey ids must be unique")
        return self

    @property
    def default(self) -> Survey:
        """The survey a plain `/start` begins."""
        return self.surveys[0]

    def get(self, survey_id: str) -> Survey | None:
        """The survey with this id, if any."""
        return next((s for s in self.surveys if s.id == survey_id), None)


class SurveyFileError(Exception):
    """A survey file cannot be read or is not a valid survey catalogue."""


def load_catalog(path: Path | None = None) -> SurveyCatalog:
    """Read and validate a survey file (TOML); `None` means the built-in surveys."""
    try:
        if path is None:
            source = resources.files("bot.surveys").joinpath("default.toml").read_text("utf-8")
            name = "built-in default.toml"
        else:
            source = path.read_text("utf-8")
            name = str(path)
    except OSError as exc:
        raise SurveyFileError(f"{path}: cannot read survey file: {exc.strerror}") from exc
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise SurveyFileError(f"{name}: not valid TOML: {exc}") from exc
    try:
        return SurveyCatalog.model_validate(data)
    except ValidationError as exc:
        raise SurveyFileError(f"{name}: {_describe(exc)}") from exc


def _describe(error: ValidationError) -> str:
    """One line per real problem, each with its place in the file.

    A bad question also makes its survey list "too short" once the bad item is dropped;
    errors whose place contains a more specific error are that kind of echo and are left out.
    """
    errors = error.errors(include_url=False, include_input=False)
    places = [tuple(e["loc"]) for e in errors]
    kept = [
        e
        for e, place in zip(errors, places, strict=True)
        if not any(other != place and other[: len(place)] == place for other in places)
    ]
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'file'}: "
        f"{e['msg'].removeprefix('Value error, ')}"
        for e in kept
    )
