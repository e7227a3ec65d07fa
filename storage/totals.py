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
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain.models import BreakdownBy
from bot.domain.surveys import ScoreQuestions
from storage.schema import daily_groups, daily_scores, figure_columns
from storage.sql import Connection, placeholders

_Key = tuple[str, ...]

# Later than any stored time or day: the end of "everything".
END_OF_TIME = "9999"

_IN_RANGE = "r.started_at >= ? AND r.started_at < ?"


def _one_if(condition: str) -> str:
    """1 where the condition holds, else 0: both backends add these up (not booleans)."""
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


_COMPLETED = _one_if("r.status = 'completed'")


def _response_figures(where: str) -> str:
    return (
        "SELECT substr(r.started_at, 1, 10), r.survey_id, count(*),"  # noqa: S608 - constants only
        f" coalesce(sum({_COMPLETED}), 0) FROM responses r"
        f" WHERE {where} GROUP BY 1, 2"
    )


class Basis:
    """The score questions the totals count: their stored form and the ids to bind."""

    def __init__(self, stored: tuple[str, str]) -> None:
        self.stored = stored
        self.csat: list[str] = json.loads(stored[0])
        self.nps: list[str] = json.loads(stored[1])

    @property
    def ids(self) -> tuple[str, ...]:
        """The values `_marked_answers` binds, in order."""
        return (*self.csat, *self.nps)


def _is_one_of(ids: list[str]) -> str:
    if not ids:
        return "1 = 0"
    return f"a.value_int IS NOT NULL AND a.question_id IN ({placeholders(len(ids))})"


def _marked_answers(where: str, basis: Basis) -> str:
    """Each answer once, marked (1 or 0) as a CSAT or NPS score by the basis' question ids.

    Binds `basis.ids`, then what `where` binds.
    """
    return (
        "SELECT substr(r.started_at, 1, 10) AS day, r.survey_id, r.visit_id,"  # noqa: S608 - constants only
        f" a.value_int AS v, a.sentiment_label AS label, {_one_if(_is_one_of(basis.csat))}"
        f" AS is_csat, {_one_if(_is_one_of(basis.nps))} AS is_nps"
        f" FROM answers a JOIN responses r ON r.id = a.response_id WHERE {where}"
    )


SCORE_COLUMNS = figure_columns(daily_scores)
"""A day's figures per survey (the schema's columns): responses started and completed, then
the answers' shares. (The sentiment columns are named after the labels.)"""
GROUP_COLUMNS = figure_columns(daily_groups)
"""A day's figures per treatment, provider or location (the schema's columns)."""

# An answer's share of each of the day's figures, by column: every figure column after
# started and completed has one (a column added to the schema without one fails at import).
_ANSWER_SHARE = {
    "csat_count": "is_csat",
    "csat_sum": "CASE WHEN is_csat = 1 THEN v ELSE 0 END",
    "csat_satisfied": _one_if("is_csat = 1 AND v >= 4"),
    "nps_promoters": _one_if("is_nps = 1 AND v >= 9"),
    "nps_passives": _one_if("is_nps = 1 AND v BETWEEN 7 AND 8"),
    "nps_detractors": _one_if("is_nps = 1 AND v <= 6"),
    "negative": _one_if("label = 'negative'"),
    "neutral": _one_if("label = 'neutral'"),
    "positive": _one_if("label = 'positive'"),
    "unknown": _one_if("label = 'unknown'"),
}
_ANSWER_COLUMNS = SCORE_COLUMNS[2:]
if set(_ANSWER_COLUMNS) != set(_ANSWER_SHARE):  # pragma: no cover - a schema change's check
    raise RuntimeError("daily_scores' columns and the answers' shares differ")


def _shares(shares: dict[str, str], columns: tuple[str, ...]) -> str:
    """The share expressions in the columns' order (SQL lists them by position)."""
    return ", ".join(shares[column] for column in columns)


def _answer_figures(where: str, basis: Basis) -> str:
    sums = ", ".join(f"sum({_ANSWER_SHARE[column]})" for column in _ANSWER_COLUMNS)
    return (
        f"SELECT day, survey_id, {sums}"  # noqa: S608 - constants only
        f" FROM ({_marked_answers(where, basis)}) marked GROUP BY 1, 2"
    )


# A response's visit, once per field (treatment, provider, location) that it names.
_DIMENSIONS = (
    " CROSS JOIN (SELECT 'treatment' AS dimension UNION ALL SELECT 'provider'"
    " UNION ALL SELECT 'location') d"
)
_NAME = (
    "CASE d.dimension WHEN 'treatment' THEN v.treatment"
    " WHEN 'provider' THEN v.provider ELSE v.location END"
)


def _group_responses(where: str) -> str:
    return (
        "SELECT day, dimension, name, count(*) FROM (SELECT substr(r.started_at, 1, 10) AS day,"  # noqa: S608 - constants only
        f" d.dimension, {_NAME} AS name FROM responses r JOIN visits v ON v.id = r.visit_id"
        f"{_DIMENSIONS} WHERE {where}) named WHERE name IS NOT NULL GROUP BY 1, 2, 3"
    )


# An answer's share of each of a group's figures, by column (all but the responses count).
_GROUP_SHARE = {
    "csat_count": "is_csat",
    "csat_sum": "CASE WHEN is_csat = 1 THEN v ELSE 0 END",
    "nps_count": "is_nps",
    "nps_promoters": _one_if("is_nps = 1 AND v >= 9"),
    "nps_detractors": _one_if("is_nps = 1 AND v <= 6"),
}
_GROUP_ANSWER_COLUMNS = GROUP_COLUMNS[1:]
if set(_GROUP_ANSWER_COLUMNS) != set(_GROUP_SHARE):  # pragma: no cover - a schema change's check
    raise RuntimeError("daily_groups' columns and the answers' shares differ")


def _group_answers(where: str, basis: Basis) -> str:
    sums = ", ".join(f"sum({_GROUP_SHARE[column]})" for column in _GROUP_ANSWER_COLUMNS)
    return (
        f"SELECT day, dimension, name, {sums}"  # noqa: S608 - constants only
        f" FROM (SELECT m.day, d.dimension, {_NAME} AS name, m.v, m.is_csat, m.is_nps"
        f" FROM ({_marked_answers(where, basis)}) m JOIN visits v ON v.id = m.visit_id"
        f"{_DIMENSIONS}) named WHERE name IS NOT NULL AND (is_csat = 1 OR is_nps = 1)"
        " GROUP BY 1, 2, 3"
    )


Figures = dict[str, int]
"""Figures by column name."""


def _columns(columns: tuple[str, ...]) -> str:
    return ", ".join(columns)


def _added(table: str, columns: tuple[str, ...]) -> str:
    """An upsert's SET clause that adds the new row's figures to the stored ones."""
    return ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)


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

    def add_scores(self, key: tuple[str, ...], start: int, figures: tuple[int, ...]) -> None:
        """Add figures to the survey's columns from `start` on."""
        _add(self.scores, key, len(SCORE_COLUMNS), start, figures)

    def add_group(self, key: tuple[str, ...], start: int, figures: tuple[int, ...]) -> None:
        """Add figures to the group's columns from `start` on."""
        _add(self.groups, key, len(GROUP_COLUMNS), start, figures)

    def merge(self, other: Tally) -> None:
        """Add another stretch's figures to these."""
        for key, figures in other.scores.items():
            self.add_scores(key, 0, tuple(figures))
        for group, figures in other.groups.items():
            self.add_group(group, 0, tuple(figures))

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


def basis_of(scores: ScoreQuestions) -> tuple[str, str]:
    """The basis row for these score questions (JSON arrays of ids)."""
    return json.dumps(sorted(scores.csat)), json.dumps(sorted(scores.nps))


async def stored_basis(conn: Connection) -> Basis | None:
    """The score questions the totals were built with, if they were built."""
    async with conn.execute("SELECT csat, nps FROM report_basis WHERE id = 1") as cursor:
        row = await cursor.fetchone()
    return None if row is None else Basis((row[0], row[1]))


async def tally_rows(conn: Connection, after: str, before: str, basis: Basis) -> Tally:
    """The figures of responses started from `after` to before `before`, straight from rows."""
    tally = Tally()
    async with conn.execute(_response_figures(_IN_RANGE), (after, before)) as cursor:
        async for row in cursor:
            tally.add_scores((row[0], row[1]), 0, tuple(row[2:4]))
    async with conn.execute(
        _answer_figures(_IN_RANGE, basis), (*basis.ids, after, before)
    ) as cursor:
        async for row in cursor:
            tally.add_scores((row[0], row[1]), 2, tuple(row[2:12]))
    async with conn.execute(_group_responses(_IN_RANGE), (after, before)) as cursor:
        async for row in cursor:
            tally.add_group((row[0], row[1], row[2]), 0, (row[3],))
    async with conn.execute(
        _group_answers(_IN_RANGE, basis), (*basis.ids, after, before)
    ) as cursor:
        async for row in cursor:
            tally.add_group((row[0], row[1], row[2]), 1, tuple(row[3:8]))
    return tally


async def tally_days(conn: Connection, first_day: str) -> Tally:
    """The stored totals of every day from `first_day` on, added up per survey and group.

    Added up in SQL: years of days are a few thousand rows, fewer to carry into Python.
    """
    tally = Tally()
    sums = ", ".join(f"sum({column})" for column in SCORE_COLUMNS)
    async with conn.execute(
        f"SELECT survey_id, {sums} FROM daily_scores WHERE day >= ? GROUP BY 1",  # noqa: S608 - constants only
        (first_day,),
    ) as cursor:
        async for row in cursor:
            tally.add_scores((first_day, row[0]), 0, tuple(row[1:]))
    sums = ", ".join(f"sum({column})" for column in GROUP_COLUMNS)
    async with conn.execute(
        f"SELECT dimension, name, {sums} FROM daily_groups WHERE day >= ? GROUP BY 1, 2",  # noqa: S608 - constants only
        (first_day,),
    ) as cursor:
        async for row in cursor:
            tally.add_group((first_day, row[0], row[1]), 0, tuple(row[2:]))
    return tally


async def _store(conn: Connection, tally: Tally) -> None:
    await conn.executemany(
        f"INSERT INTO daily_scores (day, survey_id, {_columns(SCORE_COLUMNS)})"  # noqa: S608 - constant columns
        f" VALUES (?, ?, {', '.join('?' * len(SCORE_COLUMNS))})",
        [(*key, *figures) for key, figures in tally.scores.items()],
    )
    await conn.executemany(
        f"INSERT INTO daily_groups (day, dimension, name, {_columns(GROUP_COLUMNS)})"  # noqa: S608 - constant columns
        f" VALUES (?, ?, ?, {', '.join('?' * len(GROUP_COLUMNS))})",
        [(*key, *figures) for key, figures in tally.groups.items()],
    )


async def refresh_days(conn: Connection, first_day: str, end_day: str) -> None:
    """Compute the totals of the days from `first_day` to before `end_day` again.

    Inside the caller's transaction. Nothing to do before the totals were first built.
    """
    basis = await stored_basis(conn)
    if basis is None:
        return
    await conn.execute("DELETE FROM daily_scores WHERE day >= ? AND day < ?", (first_day, end_day))
    await conn.execute("DELETE FROM daily_groups WHERE day >= ? AND day < ?", (first_day, end_day))
    await _store(conn, await tally_rows(conn, first_day, end_day, basis))


async def count_response(conn: Connection, response_id: str) -> None:
    """A response started: add it to its day's totals (inside the caller's transaction)."""
    basis = await stored_basis(conn)
    if basis is None:
        return
    await conn.execute(
        "INSERT INTO daily_scores (day, survey_id, started) SELECT substr(started_at, 1, 10),"
        " survey_id, 1 FROM responses WHERE id = ? ON CONFLICT (day, survey_id)"
        " DO UPDATE SET started = daily_scores.started + 1",
        (response_id,),
    )
    await _count_visit(conn, response_id, basis)


async def count_visit(conn: Connection, response_id: str) -> None:
    """The response's visit is known: add the response to the visit's groups."""
    basis = await stored_basis(conn)
    if basis is not None:
        await _count_visit(conn, response_id, basis)


async def _count_visit(conn: Connection, response_id: str, basis: Basis) -> None:
    await conn.execute(
        f"INSERT INTO daily_groups (day, dimension, name, responses)"
        f" {_group_responses('r.id = ?')} ON CONFLICT (day, dimension, name)"
        " DO UPDATE SET responses = daily_groups.responses + excluded.responses",
        (response_id,),
    )
    await conn.execute(
        f"INSERT INTO daily_groups (day, dimension, name, {_columns(_GROUP_ANSWER_COLUMNS)})"
        f" {_group_answers('r.id = ?', basis)} ON CONFLICT (day, dimension, name)"
        f" DO UPDATE SET {_added('daily_groups', _GROUP_ANSWER_COLUMNS)}",
        (*basis.ids, response_id),
    )


async def count_answer(
    conn: Connection, response_id: str, question_id: str, *, completes: bool
) -> None:
    """An answer was stored (completing its response, or not): add it to the totals."""
    basis = await stored_basis(conn)
    if basis is None:
        return
    where = "r.id = ? AND a.question_id = ?"
    await conn.execute(
        f"INSERT INTO daily_scores (day, survey_id, completed, {_columns(_ANSWER_COLUMNS)})"  # noqa: S608 - constants only
        f" SELECT day, survey_id, CAST(? AS BIGINT), {_shares(_ANSWER_SHARE, _ANSWER_COLUMNS)}"
        f" FROM ({_marked_answers(where, basis)}) marked WHERE true ON CONFLICT (day, survey_id)"
        f" DO UPDATE SET {_added('daily_scores', ('completed', *_ANSWER_COLUMNS))}",
        (int(completes), *basis.ids, response_id, question_id),
    )
    await conn.execute(
        f"INSERT INTO daily_groups (day, dimension, name, {_columns(_GROUP_ANSWER_COLUMNS)})"
        f" {_group_answers(where, basis)} ON CONFLICT (day, dimension, name)"
        f" DO UPDATE SET {_added('daily_groups', _GROUP_ANSWER_COLUMNS)}",
        (*basis.ids, response_id, question_id),
    )


async def days_of_patient(conn: Connection, external_id: int) -> list[str]:
    """The days this patient's responses started (their totals change when they go)."""
    async with conn.execute(
        "SELECT DISTINCT substr(r.started_at, 1, 10) FROM responses r"
        " JOIN patients p ON p.id = r.patient_id WHERE p.external_id = ?",
        (external_id,),
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def rebuild(conn: Connection, scores: ScoreQuestions) -> None:
    """Build every day's totals from the answers, for these score questions."""
    basis = Basis(basis_of(scores))
    await conn.execute("DELETE FROM daily_scores")
    await conn.execute("DELETE FROM daily_groups")
    await _store(conn, await tally_rows(conn, "", END_OF_TIME, basis))
    await conn.execute(
        "INSERT INTO report_basis (id, csat, nps) VALUES (1, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET csat = excluded.csat, nps = excluded.nps",
        basis.stored,
    )


def next_day(day: str) -> str:
    """The day after `day` (YYYY-MM-DD)."""
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
