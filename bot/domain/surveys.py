"""Surveys as data: the models a clinic's survey file is validated against."""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from bot.domain.scores import DEFAULT_RATING_SCALE, satisfied_from

# Ids travel inside inline-button callback data, which Telegram caps at 64 bytes;
# keeping them short and plain leaves room for a response id and a value.
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,19}$")]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2}$")]

_LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")


def _check_localized(value: object) -> object:
    """One clear message for a bad text, instead of one per member of the union."""
    if isinstance(value, str) and value.strip():
        return value
    if (
        isinstance(value, dict)
        and value
        and all(isinstance(k, str) and _LANGUAGE_CODE.match(k) for k in value)
        and all(isinstance(v, str) and v.strip() for v in value.values())
    ):
        return value
    raise ValueError(
        'must be a non-empty text, or texts by language code like { en = "…", es = "…" }'
    )


LocalizedText = Annotated[str | dict[str, str], BeforeValidator(_check_localized)]
"""A plain string (in the clinic's default language) or one text per language."""

AnswerValue = int | str | bool | None
"""An answer as stored and exported. Multiple choice: option ids joined by commas."""

TREATMENT_QUESTION = "treatment"
"""Asked before a survey started without an invitation, when the clinic lists treatments."""

MAX_OPTIONS = 16  # a multiple-choice selection travels as a bit mask in button data


def localize(text: LocalizedText, language: str, default: str) -> str:
    """The text in `language`, falling back to the clinic's default language."""
    if isinstance(text, str):
        return text
    return text.get(language) or text[default]


class QuestionType(StrEnum):
    """What kind of answer a question takes."""

    RATING = "rating"
    NPS = "nps"
    CHOICE = "choice"
    MULTIPLE_CHOICE = "multiple_choice"
    YES_NO = "yes_no"
    TEXT = "text"


class QuestionRole(StrEnum):
    """What a question measures, for alerts, summaries and trends."""

    CSAT = "csat"
    NPS = "nps"
    COMMENT = "comment"


# The type a question with each role must have.
ROLE_TYPES = {
    QuestionRole.CSAT: QuestionType.RATING,
    QuestionRole.NPS: QuestionType.NPS,
    QuestionRole.COMMENT: QuestionType.TEXT,
}


@dataclass(frozen=True, slots=True)
class ScoreQuestions:
    """The ids of the questions whose answers are CSAT and NPS scores, across the surveys."""

    csat: tuple[str, ...]
    nps: tuple[str, ...]
    csat_scales: tuple[tuple[str, int, int], ...] = ()
    """Each CSAT question's scale as (id, lowest, highest); one not listed has the default."""

    def csat_scale(self, question_id: str) -> range:
        """The scale of this CSAT question."""
        for listed, lowest, highest in self.csat_scales:
            if listed == question_id:
                return range(lowest, highest + 1)
        return DEFAULT_RATING_SCALE

    def satisfied_from(self, question_id: str) -> int:
        """The lowest rating of this CSAT question that counts as satisfied."""
        return satisfied_from(self.csat_scale(question_id))

    @property
    def shared_csat_scale(self) -> range | None:
        """The one scale every CSAT question has, if they share one."""
        scales = {self.csat_scale(question_id) for question_id in self.csat}
        return scales.pop() if len(scales) == 1 else None


NUMERIC_TYPES = (QuestionType.RATING, QuestionType.NPS)
OPTION_TYPES = (QuestionType.CHOICE, QuestionType.MULTIPLE_CHOICE)


class Condition(BaseModel):
    """A test on an earlier answer: a score range, a choice, a yes/no, or a ticked option."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: Identifier
    at_most: int | None = None
    at_least: int | None = None
    equals: Identifier | bool | None = None
    includes: Identifier | None = None

    @model_validator(mode="after")
    def _has_a_test(self) -> Self:
        tests = (self.at_most, self.at_least, self.equals, self.includes)
        if all(test is None for test in tests):
            raise ValueError("a condition needs at_most, at_least, equals or includes")
        return self

    def holds(self, answers: Mapping[str, AnswerValue]) -> bool:
        """Whether the answers so far satisfy this condition (never, if unanswered)."""
        value = answers.get(self.question)
        if value is None:
            return False
        if self.at_most is not None or self.at_least is not None:
            if not isinstance(value, int) or isinstance(value, bool):
                return False
            if self.at_most is not None and value > self.at_most:
                return False
            if self.at_least is not None and value < self.at_least:
                return False
        if self.equals is not None and value != self.equals:
            return False
        return self.includes is None or (
            isinstance(value, str) and self.includes in value.split(",")
        )


class TextVariant(BaseModel):
    """Alternative wording of a question, used when its condition holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    when: Condition
    text: LocalizedText


class Option(BaseModel):
    """One choice of a choice question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    label: LocalizedText


class Question(BaseModel):
    """One question of a survey."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    type: QuestionType
    text: LocalizedText
    variants: tuple[TextVariant, ...] = ()
    show_if: Condition | None = None
    required: bool = True
    scale_min: int = DEFAULT_RATING_SCALE.start
    scale_max: int = DEFAULT_RATING_SCALE[-1]
    labels: tuple[LocalizedText, ...] = ()
    options: tuple[Option, ...] = ()
    max_length: int = Field(default=4000, ge=1, le=4000)
    role: QuestionRole | None = None
    """What it measures (`csat`, `nps`, `comment`), if it is one of those."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.type is QuestionType.NPS:
            object.__setattr__(self, "scale_min", 0)
            object.__setattr__(self, "scale_max", 10)
        if self.type is QuestionType.RATING:
            if self.scale_min > self.scale_max:
                raise ValueError(
                    f"the scale {self.scale_min}..{self.scale_max} has no values "
                    "(scale_min must not exceed scale_max)"
                )
            if not 0 <= self.scale_min < self.scale_max <= 10:
                raise ValueError("a rating scale needs two or more values within 0..10")
        if self.labels and (self.type not in NUMERIC_TYPES or len(self.labels) != len(self.scale)):
            raise ValueError(
                f"labels must name each of the {len(self.scale)} values of the scale"
                if self.type in NUMERIC_TYPES
                else "only rating and nps questions have labels"
            )
        if self.type in OPTION_TYPES:
            if not 2 <= len(self.options) <= MAX_OPTIONS:
                raise ValueError(f"a {self.type} question needs 2 to {MAX_OPTIONS} options")
            ids = [option.id for option in self.options]
            if len(set(ids)) != len(ids):
                raise ValueError("option ids must be unique")
        elif self.options:
            raise ValueError(f"only choice questions have options, not {self.type} questions")
        return self

    @model_validator(mode="after")
    def _role_fits(self) -> Self:
        if self.role is not None and self.type is not ROLE_TYPES[self.role]:
            raise ValueError(
                f"a {self.role} question must be of type {ROLE_TYPES[self.role]}, not {self.type}"
            )
        return self

    @property
    def scale(self) -> range:
        """The values a rating or NPS question accepts."""
        return range(self.scale_min, self.scale_max + 1)

    @property
    def optional(self) -> bool:
        """Whether the patient may skip it."""
        return not self.required

    def wording(self, answers: Mapping[str, AnswerValue], language: str, default: str) -> str:
        """The text to show, given the answers so far."""
        for variant in self.variants:
            if variant.when.holds(answers):
                return localize(variant.text, language, default)
        return localize(self.text, language, default)

    def applies(self, answers: Mapping[str, AnswerValue]) -> bool:
        """Whether the question is asked, given the answers so far."""
        return self.show_if is None or self.show_if.holds(answers)

    def texts(self) -> Iterator[LocalizedText]:
        """Every text of the question, to check their languages."""
        yield self.text
        yield from (variant.text for variant in self.variants)
        yield from self.labels
        yield from (option.label for option in self.options)


class Survey(BaseModel):
    """An ordered list of questions with an id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    title: LocalizedText
    questions: tuple[Question, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_are_sound(self) -> Self:
        seen: dict[str, Question] = {}
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"duplicate question id {question.id!r}")
            conditions = [variant.when for variant in question.variants]
            conditions += [question.show_if] if question.show_if else []
            for condition in conditions:
                _check_condition(question, condition, seen)
            seen[question.id] = question
        roles = [q.role for q in self.questions if q.role is not None]
        for role in set(roles):
            if roles.count(role) > 1:
                raise ValueError(f"only one question may have the role {role!r}")
        return self

    def question(self, question_id: str) -> Question | None:
        """The question with this id, if the survey has one."""
        return next((q for q in self.questions if q.id == question_id), None)

    @property
    def roles(self) -> dict[str, QuestionRole]:
        """Question id -> role, as declared.

        A survey that declares none keeps the meaning ids had before roles existed: `csat`,
        `nps` and `comment`, where the type fits.
        """
        declared = {q.id: q.role for q in self.questions if q.role is not None}
        if declared:
            return declared
        return {
            q.id: QuestionRole(q.id)
            for q in self.questions
            if q.id in set(QuestionRole) and q.type is ROLE_TYPES[QuestionRole(q.id)]
        }


def _check_condition(question: Question, condition: Condition, seen: dict[str, Question]) -> None:
    earlier = seen.get(condition.question)
    if earlier is None:
        raise ValueError(
            f"question {question.id!r} depends on {condition.question!r}, "
            "which is not an earlier question of this survey"
        )
    numeric = condition.at_most is not None or condition.at_least is not None
    if numeric and earlier.type not in NUMERIC_TYPES:
        raise ValueError(f"{earlier.id!r} has no score, so at_most/at_least cannot test it")
    if condition.includes is not None and earlier.type is not QuestionType.MULTIPLE_CHOICE:
        raise ValueError(f"{earlier.id!r} is not a multiple_choice question, so no 'includes'")
    option_ids = {option.id for option in earlier.options}
    for wanted in (condition.equals, condition.includes):
        if isinstance(wanted, str) and wanted not in option_ids:
            raise ValueError(f"{earlier.id!r} has no option {wanted!r}")
    if isinstance(condition.equals, bool) and earlier.type is not QuestionType.YES_NO:
        raise ValueError(f"{earlier.id!r} is not a yes_no question")


class Treatment(BaseModel):
    """One treatment of the clinic's catalogue, asked for when a visit has no invitation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    label: LocalizedText
    aliases: tuple[Annotated[str, Field(min_length=1, max_length=100)], ...] = ()
    """Other names staff type for it (brands, everyday words)."""

    def names(self) -> list[str]:
        """Every name it goes by: its id, its labels in each language, its aliases."""
        labels = [self.label] if isinstance(self.label, str) else list(self.label.values())
        return [self.id, *labels, *self.aliases]


def name_key(text: str) -> str:
    """A name as matched: case, accents, spaces and punctuation ignored (Juvéderm = juvederm)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(character for character in decomposed if character.isalnum())


class FollowupRule(BaseModel):
    """Send `survey` some days after `after` is completed; the delay may vary by treatment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    survey: Identifier
    after: Identifier
    days: int = Field(ge=1, le=730)
    treatment_days: dict[str, Annotated[int, Field(ge=1, le=730)]] = Field(default_factory=dict)

    def delay_for(self, treatment: str | None) -> int:
        """Days from the completed survey to this follow-up, for the visit's treatment."""
        if treatment is not None and treatment in self.treatment_days:
            return self.treatment_days[treatment]
        return self.days


class SurveyCatalog(BaseModel):
    """Everything a survey file holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_language: LanguageCode = "en"
    default_survey: Identifier | None = None
    treatments: tuple[Treatment, ...] = ()
    surveys: tuple[Survey, ...] = Field(min_length=1)
    followups: tuple[FollowupRule, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [survey.id for survey in self.surveys]
        if len(set(ids)) != len(ids):
            raise ValueError("survey ids must be unique")
        if self.default_survey is not None and self.default_survey not in ids:
            raise ValueError(f"default_survey {self.default_survey!r} is not a survey here")
        self._check_treatments()
        self._check_followups(ids)
        self._check_roles()
        return self

    def _check_roles(self) -> None:
        # Summaries count answers by question id across surveys, so an id means one thing,
        # and a CSAT question's answers are counted as satisfied by one scale.
        meaning: dict[str, tuple[QuestionRole | None, str, range]] = {}
        for survey in self.surveys:
            roles = survey.roles
            for question in survey.questions:
                role = roles.get(question.id)
                earlier = meaning.setdefault(question.id, (role, survey.id, question.scale))
                if earlier[0] != role:
                    raise ValueError(
                        f"question {question.id!r} is {earlier[0] or 'no score'} in survey "
                        f"{earlier[1]!r} but {role or 'no score'} in {survey.id!r}: give it "
                        "another id in one of them"
                    )
                if role is QuestionRole.CSAT and earlier[2] != question.scale:
                    raise ValueError(
                        f"the CSAT question {question.id!r} rates {_span(earlier[2])} in survey "
                        f"{earlier[1]!r} but {_span(question.scale)} in {survey.id!r}: give it "
                        "another id in one of them"
                    )

    def question_ids(self, role: QuestionRole) -> tuple[str, ...]:
        """The ids of every survey's question with this role, sorted."""
        return tuple(
            sorted({qid for s in self.surveys for qid, r in s.roles.items() if r is role})
        )

    def score_questions(self) -> ScoreQuestions:
        """Where the CSAT and NPS scores are, and the CSAT scales, for summaries and trends."""
        scales = {
            question.id: question.scale
            for survey in self.surveys
            for question in survey.questions
            if survey.roles.get(question.id) is QuestionRole.CSAT
        }
        return ScoreQuestions(
            csat=self.question_ids(QuestionRole.CSAT),
            nps=self.question_ids(QuestionRole.NPS),
            csat_scales=tuple(
                (question_id, scale.start, scale[-1])
                for question_id, scale in sorted(scales.items())
            ),
        )

    def surveys_without(self, role: QuestionRole) -> tuple[str, ...]:
        """The ids of surveys with no question of this role."""
        return tuple(s.id for s in self.surveys if role not in s.roles.values())

    def _check_treatments(self) -> None:
        treatment_ids = [treatment.id for treatment in self.treatments]
        if len(set(treatment_ids)) != len(treatment_ids):
            raise ValueError("treatment ids must be unique")
        owner: dict[str, str] = {}
        for treatment in self.treatments:
            for name in treatment.names():
                earlier = owner.setdefault(name_key(name), treatment.id)
                if earlier != treatment.id:
                    raise ValueError(
                        f"treatment {treatment.id!r}: the name {name!r} is already "
                        f"{earlier!r}'s; a name may stand for one treatment only"
                    )
        if not treatment_ids:
            return
        if not 2 <= len(treatment_ids) <= MAX_OPTIONS:
            raise ValueError(f"list no treatments, or 2 to {MAX_OPTIONS} to choose from")
        for survey in self.surveys:
            if survey.question(TREATMENT_QUESTION) is not None:
                raise ValueError(
                    f"survey {survey.id!r}: the question id {TREATMENT_QUESTION!r} is "
                    "reserved for the treatment catalogue"
                )

    def _check_followups(self, survey_ids: list[str]) -> None:
        treatment_ids = {treatment.id for treatment in self.treatments}
        for rule in self.followups:
            for survey_id in (rule.survey, rule.after):
                if survey_id not in survey_ids:
                    raise ValueError(f"follow-up {rule.survey!r}: no survey {survey_id!r}")
            unknown = sorted(set(rule.treatment_days) - treatment_ids)
            if unknown:
                raise ValueError(
                    f"follow-up {rule.survey!r}: treatment_days names {', '.join(unknown)}, "
                    "which the treatment catalogue does not list"
                )

    @property
    def default(self) -> Survey:
        """The survey a plain `/start` begins: `default_survey`, or the first."""
        return self.get(self.default_survey or "") or self.surveys[0]

    def get(self, survey_id: str) -> Survey | None:
        """The survey with this id, if any."""
        return next((s for s in self.surveys if s.id == survey_id), None)

    def followups_after(self, survey_id: str) -> tuple[FollowupRule, ...]:
        """The follow-ups a completed `survey_id` schedules."""
        return tuple(rule for rule in self.followups if rule.after == survey_id)

    @property
    def followup_survey_ids(self) -> frozenset[str]:
        """The surveys sent weeks after a visit (by a follow-up rule)."""
        return frozenset(rule.survey for rule in self.followups)

    def treatment_named(self, typed: str) -> Treatment | None:
        """The treatment going by this name (id, label or alias), ignoring case and accents."""
        return self._treatments_by_name.get(name_key(typed))

    @cached_property
    def _treatments_by_name(self) -> dict[str, Treatment]:
        # Every visit a booking system announces is looked up: normalise the names once.
        # The first treatment with a name keeps it, as the catalogue's order says.
        named: dict[str, Treatment] = {}
        for treatment in self.treatments:
            for name in treatment.names():
                named.setdefault(name_key(name), treatment)
        return named

    def treatment_names_like(self, typed: str, most: int = 3) -> list[str]:
        """The treatment names closest to a name that matched none, closest first."""
        names = {name_key(name): name for t in self.treatments for name in t.names()}
        close = difflib.get_close_matches(name_key(typed), list(names), n=most, cutoff=0.6)
        return [names[key] for key in close]

    def with_aliases(self, aliases: Mapping[str, list[str]]) -> SurveyCatalog:
        """This catalogue with more aliases for the treatments it has (by id).

        A name one of its treatments already goes by stays that treatment's.
        """
        taken = {name_key(name) for t in self.treatments for name in t.names()}
        treatments = []
        for treatment in self.treatments:
            added = []
            for alias in aliases.get(treatment.id, []):
                if name_key(alias) not in taken:
                    taken.add(name_key(alias))
                    added.append(alias)
            treatments.append(
                treatment.model_copy(update={"aliases": (*treatment.aliases, *added)})
            )
        return self.model_copy(update={"treatments": tuple(treatments)})

    def treatment(self, treatment_id: str) -> Treatment | None:
        """The treatment with this id, if the catalogue has it."""
        return next((t for t in self.treatments if t.id == treatment_id), None)


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
        catalog = SurveyCatalog.model_validate(data)
    except ValidationError as exc:
        raise SurveyFileError(f"{name}: {_describe(exc, data)}") from exc
    missing = _missing_default_language(catalog)
    if missing:
        raise SurveyFileError(f"{name}: {missing}")
    return catalog.with_aliases(_builtin_aliases())


def _builtin_aliases() -> dict[str, list[str]]:
    """The desk's names for the built-in treatment ids (bot/surveys/aliases.toml)."""
    source = resources.files("bot.surveys").joinpath("aliases.toml").read_text("utf-8")
    return {key: [str(name) for name in names] for key, names in tomllib.loads(source).items()}


def _missing_default_language(catalog: SurveyCatalog) -> str | None:
    """Every per-language text needs the default language, the fallback for all others."""
    default = catalog.default_language
    for survey in catalog.surveys:
        texts: list[tuple[str, LocalizedText]] = [(f"survey {survey.id!r}", survey.title)]
        texts += [
            (f"survey {survey.id!r}, question {question.id!r}", text)
            for question in survey.questions
            for text in question.texts()
        ]
        for where, text in texts:
            if isinstance(text, dict) and default not in text:
                return f"{where}: a text has no {default!r} version (the default_language)"
    for treatment in catalog.treatments:
        if isinstance(treatment.label, dict) and default not in treatment.label:
            return f"treatment {treatment.id!r}: the label has no {default!r} version"
    return None


def _describe(error: ValidationError, data: dict[str, object]) -> str:
    """One line per real problem, naming the survey and question by id, not by position.

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
        f"{_place(tuple(e['loc']), data)}: {e['msg'].removeprefix('Value error, ')}" for e in kept
    )


def _place(loc: tuple[int | str, ...], data: object) -> str:
    """`('surveys', 0, 'questions', 1, 'type')` as `survey 'post_visit', question 'nps', type`."""
    names = {"surveys": "survey", "questions": "question", "options": "option"}
    names |= {"treatments": "treatment", "variants": "variant", "followups": "follow-up"}
    parts: list[str] = []
    node = data
    index = 0
    while index < len(loc):
        key = loc[index]
        child = node.get(key) if isinstance(node, dict) else None
        following = loc[index + 1] if index + 1 < len(loc) else None
        if key in names and isinstance(following, int) and isinstance(child, list):
            item = child[following] if following < len(child) else None
            label = item.get("id") if isinstance(item, dict) else None
            name = names[str(key)]
            parts.append(f"{name} {label!r}" if label else f"{name} {following + 1}")
            node = item
            index += 2
            continue
        # pydantic adds the union member it tried ("str", "dict[...]"): not a place.
        if isinstance(key, str) and key != "str" and "[" not in key:
            parts.append(key)
        node = child
        index += 1
    return ", ".join(parts) or "file"


def _span(scale: range) -> str:
    return f"{scale.start}..{scale[-1]}"
