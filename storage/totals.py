"""Daily totals behind summaries and trends, always equal to what the answers say.

Each stored response and answer adds its share to its day's totals in the transaction that
stores it (`count_response`, `count_visit`, `count_answer`), with the same expressions the
direct computation of any stretch of time uses (`tally_rows`). A deletion (`/forget`,
retention) computes the days it touched again (`refresh_days`), and everything is rebuilt
when the questions that hold the CSAT and NPS change (`rebuild`). A summary adds up whole
days from the totals and computes the part-day at the start of its period directly, so its
figures are exactly those of the answers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnClause,
    ColumnElement,
    Executable,
    FromClause,
    Select,
    Subquery,
    Table,
    Text,
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    union_all,
)

from bot.domain.models import BreakdownBy, SentimentLabel
from bot.domain.scores import (
    DEFAULT_RATING_SCALE,
    NPS_DETRACTORS_UP_TO,
    NPS_PROMOTERS_FROM,
    satisfied_from,
)
from bot.domain.surveys import ScoreQuestions
from storage.schema import (
    answers,
    daily_groups,
    daily_scores,
    daily_visit_groups,
    figure_columns,
    patients,
    report_basis,
    responses,
    visits,
)
from storage.sql import Connection, dialect_insert

_Key = tuple[str, ...]

# Later than any stored time or day: the end of "everything".
END_OF_TIME = "9999"

# Constants written into the SQL rather than bound: PostgreSQL groups by an expression only
# if it is the very same, and two bound 1s are two parameters.
_ONE: ColumnClause[int] = literal_column("1")
_ZERO: ColumnClause[int] = literal_column("0")
DAY = func.substr(responses.c.started_at, _ONE, literal_column("10"))
"""The day a response started (its time is ISO-8601 text)."""


def _in_range(
    after: str | BindParameter[str], before: str | BindParameter[str]
) -> ColumnElement[bool]:
    return and_(responses.c.started_at >= after, responses.c.started_at < before)


def _one_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where the condition holds, else 0: both backends add these up (not booleans)."""
    return case((condition, _ONE), else_=_ZERO)


def _response_figures(where: ColumnElement[bool]) -> Select[Any]:
    day = DAY.label("day")
    return (
        select(
            day,
            responses.c.survey_id,
            func.count(),
            func.coalesce(func.sum(_one_if(responses.c.status == "completed")), _ZERO),
        )
        .where(where)
        .group_by(DAY, responses.c.survey_id)
    )


class Basis:
    """The score questions the totals count: their stored form, and what it says.

    `csat` maps each CSAT question to its lowest satisfied rating (`basis_of`); totals built
    before the cut came from the scale stored a list of ids, and are rebuilt at the next
    start (their basis differs), counted meanwhile with the default scale's cut.
    """

    def __init__(self, stored: tuple[str, str]) -> None:
        self.stored = stored
        csat: dict[str, int] | list[str] = json.loads(stored[0])
        self.csat = (
            csat
            if isinstance(csat, dict)
            else dict.fromkeys(csat, satisfied_from(DEFAULT_RATING_SCALE))
        )
        self.nps: list[str] = json.loads(stored[1])


def _is_one_of(ids: list[str]) -> ColumnElement[bool]:
    if not ids:
        return false()
    return and_(answers.c.value_int.is_not(None), answers.c.question_id.in_(ids))


def _is_satisfied(basis: Basis) -> ColumnElement[bool]:
    """A CSAT answer at or above its question's satisfied cut (each its own scale's)."""
    if not basis.csat:
        return false()
    return or_(
        *(
            and_(answers.c.question_id == question_id, answers.c.value_int >= cut)
            for question_id, cut in sorted(basis.csat.items())
        )
    )


def _marked_answers(where: ColumnElement[bool], basis: Basis) -> Subquery:
    """Each answer once, marked (1 or 0) as a CSAT or NPS score by the basis' question ids."""
    return (
        select(
            DAY.label("day"),
            responses.c.survey_id,
            responses.c.visit_id,
            answers.c.value_int.label("v"),
            answers.c.sentiment_label.label("label"),
            _one_if(_is_one_of(list(basis.csat))).label("is_csat"),
            _one_if(_is_one_of(basis.nps)).label("is_nps"),
            _one_if(_is_satisfied(basis)).label("is_satisfied"),
        )
        .select_from(answers.join(responses, responses.c.id == answers.c.response_id))
        .where(where)
        .subquery("marked")
    )


SCORE_COLUMNS = figure_columns(daily_scores)
"""A day's figures per survey (the schema's columns): responses started and completed, then
the answers' shares. (The sentiment columns are named after the labels.)"""
GROUP_COLUMNS = figure_columns(daily_groups)
"""A day's figures per treatment, provider or location (the schema's columns)."""
_ANSWER_COLUMNS = SCORE_COLUMNS[2:]
_GROUP_ANSWER_COLUMNS = GROUP_COLUMNS[1:]
if figure_columns(daily_visit_groups) != GROUP_COLUMNS:  # pragma: no cover
    raise RuntimeError("a visit's groups count what a treatment's, provider's or location's do")


def _shares(marked: FromClause) -> dict[str, ColumnElement[int]]:
    """An answer's share of each figure, by column, from its marked row (`_marked_answers`)."""
    v, csat, nps = marked.c.v, marked.c.is_csat == 1, marked.c.is_nps == 1
    shares: dict[str, ColumnElement[int]] = {
        "csat_count": marked.c.is_csat,
        "csat_sum": case((csat, v), else_=_ZERO),
        "csat_satisfied": marked.c.is_satisfied,
        "nps_count": marked.c.is_nps,
        "nps_promoters": _one_if(and_(nps, v >= NPS_PROMOTERS_FROM)),
        "nps_passives": _one_if(and_(nps, v > NPS_DETRACTORS_UP_TO, v < NPS_PROMOTERS_FROM)),
        "nps_detractors": _one_if(and_(nps, v <= NPS_DETRACTORS_UP_TO)),
    }
    return shares | {
        label.value: _one_if(marked.c.label == label.value) for label in SentimentLabel
    }


# Every figure column after started and completed has a share (a column added to the schema
# without one fails at import).
_SHARE_NAMES = set(_shares(_marked_answers(true(), Basis(("[]", "[]")))))
if not {*_ANSWER_COLUMNS, *_GROUP_ANSWER_COLUMNS} <= _SHARE_NAMES:  # pragma: no cover
    raise RuntimeError("the totals' columns and the answers' shares differ")


def _answer_figures(where: ColumnElement[bool], basis: Basis) -> Select[Any]:
    marked = _marked_answers(where, basis)
    shares = _shares(marked)
    return select(
        marked.c.day,
        marked.c.survey_id,
        *(func.sum(shares[column]) for column in _ANSWER_COLUMNS),
    ).group_by(marked.c.day, marked.c.survey_id)


# A response's visit, once per field (treatment, provider, location) that it names.
_DIMENSIONS = union_all(
    *(select(literal_column(f"'{by.value}'").label("dimension")) for by in BreakdownBy)
).subquery("d")


def _named(
    visit: FromClause, *columns: ColumnElement[Any], where: ColumnElement[bool]
) -> Subquery:
    """Rows once per dimension, each with its name in that dimension (None if unnamed)."""
    name = case(
        (_DIMENSIONS.c.dimension == BreakdownBy.TREATMENT.value, visits.c.treatment),
        (_DIMENSIONS.c.dimension == BreakdownBy.PROVIDER.value, visits.c.provider),
        else_=visits.c.location,
    )
    return (
        select(*columns, _DIMENSIONS.c.dimension, name.label("name"))
        # Every row meets each of the three dimensions. As a LEFT JOIN (the list is never
        # empty, so it is a cross join all the same) SQLite keeps the order and reads the
        # rows once, not once per dimension: 1.5 times faster on a million answers.
        .select_from(visit.outerjoin(_DIMENSIONS, true()))
        .where(where)
        .subquery("named")
    )


def _group_responses(where: ColumnElement[bool]) -> Select[Any]:
    named = _named(
        responses.join(visits, visits.c.id == responses.c.visit_id),
        DAY.label("day"),
        where=where,
    )
    return (
        select(named.c.day, named.c.dimension, named.c.name, func.count().label("responses"))
        .where(named.c.name.is_not(None))
        .group_by(named.c.day, named.c.dimension, named.c.name)
    )


def _group_answers(where: ColumnElement[bool], basis: Basis) -> Select[Any]:
    marked = _marked_answers(where, basis)
    named = _named(
        marked.join(visits, visits.c.id == marked.c.visit_id),
        marked.c.day,
        marked.c.v,
        marked.c.label,
        marked.c.is_csat,
        marked.c.is_nps,
        marked.c.is_satisfied,
        where=true(),
    )
    shares = _shares(named)
    return (
        select(
            named.c.day,
            named.c.dimension,
            named.c.name,
            *(func.sum(shares[column]).label(column) for column in _GROUP_ANSWER_COLUMNS),
        )
        .where(named.c.name.is_not(None), or_(named.c.is_csat == 1, named.c.is_nps == 1))
        .group_by(named.c.day, named.c.dimension, named.c.name)
    )


# A visit's provider, treatment and location, '' for one it does not name (see the table).
_UNNAMED: ColumnClause[str] = literal_column("''")
_VISIT_KEY = tuple(
    func.coalesce(visits.c[column], _UNNAMED) for column in ("provider", "treatment", "location")
)


def _visit_group_responses(where: ColumnElement[bool]) -> Select[Any]:
    return (
        select(DAY, *_VISIT_KEY, func.count().label("responses"))
        .select_from(responses.join(visits, visits.c.id == responses.c.visit_id))
        .where(where)
        .group_by(DAY, *_VISIT_KEY)
    )


def _visit_group_answers(where: ColumnElement[bool], basis: Basis) -> Select[Any]:
    marked = _marked_answers(where, basis)
    shares = _shares(marked)
    return (
        select(
            marked.c.day,
            *_VISIT_KEY,
            *(func.sum(shares[column]).label(column) for column in _GROUP_ANSWER_COLUMNS),
        )
        .select_from(marked.join(visits, visits.c.id == marked.c.visit_id))
        .where(or_(marked.c.is_csat == 1, marked.c.is_nps == 1))
        .group_by(marked.c.day, *_VISIT_KEY)
    )


Figures = dict[str, int]
"""Figures by column name."""


def _add(
    rows: dict[_Key, list[int]], key: _Key, width: int, start: int, figures: tuple[int, ...]
) -> None:
    """Add figures to a row's columns from `start` on (a new row starts at zeros)."""
    row = rows.setdefault(key, [0] * width)
    for index, value in enumerate(figures, start):
        row[index] += int(value or 0)


@dataclass
class Tally:
    """Figures of the responses started in some stretch of time, added up."""

    scores: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    """(day, survey) -> the figures of `SCORE_COLUMNS`, in order."""
    groups: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    """(day, dimension, name) -> the figures of `GROUP_COLUMNS`, in order."""
    visit_groups: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    """(day, provider, treatment, location) -> the figures of `GROUP_COLUMNS`, in order."""

    def add_scores(self, key: tuple[str, ...], start: int, figures: tuple[int, ...]) -> None:
        """Add figures to the survey's columns from `start` on."""
        _add(self.scores, key, len(SCORE_COLUMNS), start, figures)

    def add_group(self, key: tuple[str, ...], start: int, figures: tuple[int, ...]) -> None:
        """Add figures to the group's columns from `start` on."""
        _add(self.groups, key, len(GROUP_COLUMNS), start, figures)

    def add_visit_group(self, key: tuple[str, ...], start: int, figures: tuple[int, ...]) -> None:
        """Add figures to the visit group's columns from `start` on."""
        _add(self.visit_groups, key, len(GROUP_COLUMNS), start, figures)

    def merge(self, other: Tally) -> None:
        """Add another stretch's figures to these."""
        for key, figures in other.scores.items():
            self.add_scores(key, 0, tuple(figures))
        for group, figures in other.groups.items():
            self.add_group(group, 0, tuple(figures))
        for visit_group, figures in other.visit_groups.items():
            self.add_visit_group(visit_group, 0, tuple(figures))

    def survey_totals(self) -> dict[str, Figures]:
        """The figures per survey, every day added up."""
        totals: dict[_Key, list[int]] = {}
        for (_, survey), figures in self.scores.items():
            _add(totals, (survey,), len(SCORE_COLUMNS), 0, tuple(figures))
        return {key[0]: dict(zip(SCORE_COLUMNS, row, strict=True)) for key, row in totals.items()}

    def group_totals(self) -> dict[BreakdownBy, dict[str, Figures]]:
        """The figures per treatment, provider and location, every day added up."""
        totals: dict[_Key, list[int]] = {}
        for (_, dimension, name), figures in self.groups.items():
            _add(totals, (dimension, name), len(GROUP_COLUMNS), 0, tuple(figures))
        named: dict[BreakdownBy, dict[str, Figures]] = {by: {} for by in BreakdownBy}
        for (dimension, name), row in totals.items():
            named[BreakdownBy(dimension)][name] = dict(zip(GROUP_COLUMNS, row, strict=True))
        return named

    def visit_group_totals(self) -> dict[tuple[str, str, str], Figures]:
        """The figures per provider, treatment and location together, every day added up."""
        totals: dict[_Key, list[int]] = {}
        for (_, *visit), figures in self.visit_groups.items():
            _add(totals, tuple(visit), len(GROUP_COLUMNS), 0, tuple(figures))
        return {
            (key[0], key[1], key[2]): dict(zip(GROUP_COLUMNS, row, strict=True))
            for key, row in totals.items()
        }


def basis_of(scores: ScoreQuestions) -> tuple[str, str]:
    """The basis row for these score questions.

    Each CSAT id with its satisfied cut, as a JSON object, and the NPS ids as a JSON array.
    """
    cuts = {question_id: scores.satisfied_from(question_id) for question_id in scores.csat}
    return json.dumps(cuts, sort_keys=True), json.dumps(sorted(scores.nps))


_STORED_BASIS = select(report_basis.c.csat, report_basis.c.nps).where(report_basis.c.id == 1)


async def stored_basis(conn: Connection) -> Basis | None:
    """The score questions the totals were built with, if they were built."""
    row = await conn.first(_STORED_BASIS)
    return None if row is None else Basis((row.csat, row.nps))


@lru_cache(maxsize=8)
def _range_tally(stored: tuple[str, str]) -> tuple[Select[Any], ...]:
    """The queries of `tally_rows` for a basis (they bind `after` and `before`)."""
    basis = Basis(stored)
    within = _in_range(bindparam("after", type_=Text), bindparam("before", type_=Text))
    return (
        _response_figures(within),
        _answer_figures(within, basis),
        _group_responses(within),
        _group_answers(within, basis),
        _visit_group_responses(within),
        _visit_group_answers(within, basis),
    )


async def tally_rows(
    conn: Connection, after: str, before: str, basis: Basis, *, visit_groups: bool = True
) -> Tally:
    """The figures of responses started from `after` to before `before`, straight from rows.

    Without `visit_groups`, not per provider, treatment and location together: a summary
    does without those two queries.
    """
    tally = Tally()
    bounds = {"after": after, "before": before}
    responded, answered, grouped, group_answered, visited, visit_answered = _range_tally(
        basis.stored
    )
    for row in await conn.rows(responded, bounds):
        tally.add_scores((row[0], row[1]), 0, tuple(row[2:4]))
    for row in await conn.rows(answered, bounds):
        tally.add_scores((row[0], row[1]), 2, tuple(row[2:]))
    for row in await conn.rows(grouped, bounds):
        tally.add_group((row[0], row[1], row[2]), 0, (row[3],))
    for row in await conn.rows(group_answered, bounds):
        tally.add_group((row[0], row[1], row[2]), 1, tuple(row[3:]))
    if not visit_groups:
        return tally
    for row in await conn.rows(visited, bounds):
        tally.add_visit_group(tuple(row[0:4]), 0, (row[4],))
    for row in await conn.rows(visit_answered, bounds):
        tally.add_visit_group(tuple(row[0:4]), 1, tuple(row[4:]))
    return tally


async def tally_days(conn: Connection, first_day: str, *, visit_groups: bool = False) -> Tally:
    """The stored totals of every day from `first_day` on, added up per survey and group.

    With `visit_groups`, also per provider, treatment and location together (the console's
    breakdowns; summaries do without them).

    Added up in SQL: years of days are a few thousand rows, fewer to carry into Python.
    """
    tally = Tally()
    scores = (
        select(daily_scores.c.survey_id, *(func.sum(daily_scores.c[c]) for c in SCORE_COLUMNS))
        .where(daily_scores.c.day >= first_day)
        .group_by(daily_scores.c.survey_id)
    )
    for row in await conn.rows(scores):
        tally.add_scores((first_day, row[0]), 0, tuple(row[1:]))
    groups = (
        select(
            daily_groups.c.dimension,
            daily_groups.c.name,
            *(func.sum(daily_groups.c[c]) for c in GROUP_COLUMNS),
        )
        .where(daily_groups.c.day >= first_day)
        .group_by(daily_groups.c.dimension, daily_groups.c.name)
    )
    for row in await conn.rows(groups):
        tally.add_group((first_day, row[0], row[1]), 0, tuple(row[2:]))
    if visit_groups:
        key = [daily_visit_groups.c[column] for column in ("provider", "treatment", "location")]
        together = (
            select(*key, *(func.sum(daily_visit_groups.c[c]) for c in GROUP_COLUMNS))
            .where(daily_visit_groups.c.day >= first_day)
            .group_by(*key)
        )
        for row in await conn.rows(together):
            tally.add_visit_group((first_day, *row[0:3]), 0, tuple(row[3:]))
    return tally


async def _store(conn: Connection, tally: Tally) -> None:
    await conn.run(
        insert(daily_scores),
        [
            {"day": day, "survey_id": survey, **dict(zip(SCORE_COLUMNS, figures, strict=True))}
            for (day, survey), figures in tally.scores.items()
        ],
    )
    await conn.run(
        insert(daily_groups),
        [
            {
                "day": day,
                "dimension": dimension,
                "name": name,
                **dict(zip(GROUP_COLUMNS, figures, strict=True)),
            }
            for (day, dimension, name), figures in tally.groups.items()
        ],
    )
    await conn.run(
        insert(daily_visit_groups),
        [
            {
                "day": day,
                "provider": provider,
                "treatment": treatment,
                "location": location,
                **dict(zip(GROUP_COLUMNS, figures, strict=True)),
            }
            for (day, provider, treatment, location), figures in tally.visit_groups.items()
        ],
    )


async def refresh_days(conn: Connection, first_day: str, end_day: str) -> None:
    """Compute the totals of the days from `first_day` to before `end_day` again.

    Inside the caller's transaction. Nothing to do before the totals were first built.
    """
    basis = await stored_basis(conn)
    if basis is None:
        return
    for table in (daily_scores, daily_groups, daily_visit_groups):
        await conn.run(delete(table).where(table.c.day >= first_day, table.c.day < end_day))
    await _store(conn, await tally_rows(conn, first_day, end_day, basis))


def _adding(
    dialect: str, table: Table, columns: Sequence[str], figures: Select[Any]
) -> Executable:
    """Add the figures (a row per key, then the columns in order) to the stored ones.

    The key's columns come in the table's order (its primary key may list them otherwise).
    """
    key = [column.name for column in table.columns if column.primary_key]
    upsert = dialect_insert(dialect, table).from_select([*key, *columns], figures)
    return upsert.on_conflict_do_update(
        index_elements=key,
        set_={column: table.c[column] + upsert.excluded[column] for column in columns},
    )


# Counting a response or an answer builds the same statements each time for a basis; they
# are built once (SQLAlchemy then finds their compiled form by the statement's shape).
_RESPONSE: BindParameter[str] = bindparam("response_id", type_=Text)
_QUESTION: BindParameter[str] = bindparam("question_id", type_=Text)
_COMPLETED = bindparam("completed", type_=BigInteger)


@lru_cache(maxsize=8)
def _response_counting(stored: tuple[str, str], dialect: str) -> tuple[Executable, ...]:
    """A response's day and its visit's groups, each its own statement (binds response_id)."""
    this_response = responses.c.id == _RESPONSE
    started = select(DAY, responses.c.survey_id, _ONE).where(this_response)
    return (
        _adding(dialect, daily_scores, ["started"], started),
        *_visit_counting(stored, dialect),
    )


@lru_cache(maxsize=8)
def _visit_counting(stored: tuple[str, str], dialect: str) -> tuple[Executable, ...]:
    """A response's visit's groups: its count, and its answers' (binds response_id)."""
    this_response = responses.c.id == _RESPONSE
    return (
        _adding(dialect, daily_groups, ["responses"], _group_responses(this_response)),
        _adding(
            dialect,
            daily_groups,
            _GROUP_ANSWER_COLUMNS,
            _group_answers(this_response, Basis(stored)),
        ),
        _adding(dialect, daily_visit_groups, ["responses"], _visit_group_responses(this_response)),
        _adding(
            dialect,
            daily_visit_groups,
            _GROUP_ANSWER_COLUMNS,
            _visit_group_answers(this_response, Basis(stored)),
        ),
    )


@lru_cache(maxsize=8)
def _answer_counting(stored: tuple[str, str], dialect: str) -> tuple[Executable, ...]:
    """An answer's day and groups (binds response_id, question_id and completed)."""
    basis = Basis(stored)
    this_answer = and_(responses.c.id == _RESPONSE, answers.c.question_id == _QUESTION)
    marked = _marked_answers(this_answer, basis)
    shares = _shares(marked)
    scores = select(
        marked.c.day,
        marked.c.survey_id,
        _COMPLETED,
        *(shares[column] for column in _ANSWER_COLUMNS),
    ).where(true())  # SQLite reads ON CONFLICT after a bare FROM as a join's ON
    return (
        _adding(dialect, daily_scores, ["completed", *_ANSWER_COLUMNS], scores),
        _adding(dialect, daily_groups, _GROUP_ANSWER_COLUMNS, _group_answers(this_answer, basis)),
        _adding(
            dialect,
            daily_visit_groups,
            _GROUP_ANSWER_COLUMNS,
            _visit_group_answers(this_answer, basis),
        ),
    )


async def count_response(conn: Connection, response_id: str) -> None:
    """A response started: add it to its day's totals (inside the caller's transaction)."""
    basis = await stored_basis(conn)
    if basis is None:
        return
    for statement in _response_counting(basis.stored, conn.dialect):
        await conn.run(statement, {"response_id": response_id})


async def count_visit(conn: Connection, response_id: str) -> None:
    """The response's visit is known: add the response to the visit's groups."""
    basis = await stored_basis(conn)
    if basis is None:
        return
    for statement in _visit_counting(basis.stored, conn.dialect):
        await conn.run(statement, {"response_id": response_id})


async def count_answer(
    conn: Connection, response_id: str, question_id: str, *, completes: bool
) -> None:
    """An answer was stored (completing its response, or not): add it to the totals."""
    basis = await stored_basis(conn)
    if basis is None:
        return
    values = {"response_id": response_id, "question_id": question_id, "completed": int(completes)}
    for statement in _answer_counting(basis.stored, conn.dialect):
        await conn.run(statement, values)


async def days_of_patient(conn: Connection, external_id: int) -> list[str]:
    """The days this patient's responses started (their totals change when they go)."""
    rows = await conn.rows(
        select(DAY)
        .distinct()
        .select_from(responses.join(patients, patients.c.id == responses.c.patient_id))
        .where(patients.c.external_id == external_id)
    )
    return [row[0] for row in rows]


async def rebuild(conn: Connection, scores: ScoreQuestions) -> None:
    """Build every day's totals from the answers, for these score questions."""
    basis = Basis(basis_of(scores))
    for table in (daily_scores, daily_groups, daily_visit_groups):
        await conn.run(delete(table))
    await _store(conn, await tally_rows(conn, "", END_OF_TIME, basis))
    chosen = dialect_insert(conn.dialect, report_basis).values(
        id=1, csat=basis.stored[0], nps=basis.stored[1]
    )
    await conn.run(
        chosen.on_conflict_do_update(
            index_elements=[report_basis.c.id],
            set_={"csat": chosen.excluded.csat, "nps": chosen.excluded.nps},
        )
    )


def next_day(day: str) -> str:
    """The day after `day` (YYYY-MM-DD)."""
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
