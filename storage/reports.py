"""Summaries and exports: aggregates computed in SQL, so they stay fast on years of data."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from bot.domain.models import (
    Breakdown,
    BreakdownBy,
    CaseFigures,
    InvitationFunnel,
    NegativeComment,
    Period,
    Response,
    SentimentLabel,
    Summary,
)
from bot.domain.surveys import ScoreQuestions
from storage.database import Database, from_db_time, to_db_time
from storage.responses import RESPONSE_SELECT, row_to_answer, row_to_response

LATEST_NEGATIVE_COMMENTS = 5


BREAKDOWN_ROWS = 8  # a phone screen's worth per breakdown

# ISO-8601 text sorts by time, and every timestamp sorts after the empty string.
_BEGINNING = ""


class SqliteReportStore:
    """The `ReportStore` over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def summary(
        self, period: Period, since: datetime | None, scores: ScoreQuestions
    ) -> Summary:
        """Aggregates over responses started (and answers given) since `since`.

        `scores` says which questions hold the CSAT and NPS scores (the surveys' roles).
        """
        after = _BEGINNING if since is None else to_db_time(since)
        csat_ids, nps_ids = json.dumps(scores.csat), json.dumps(scores.nps)
        conn = self._db.connection
        async with conn.execute(
            "SELECT count(*), coalesce(sum(status = 'completed'), 0)"
            " FROM responses WHERE started_at >= ?",
            (after,),
        ) as cursor:
            started, completed = await cursor.fetchone() or (0, 0)
        async with conn.execute(
            "SELECT count(*), avg(value_int), coalesce(sum(value_int >= 4), 0) FROM answers"
            " WHERE question_id IN (SELECT value FROM json_each(?)) AND answered_at >= ?"
            " AND value_int IS NOT NULL",
            (csat_ids, after),
        ) as cursor:
            csat_count, csat_mean, csat_satisfied = await cursor.fetchone() or (0, None, 0)
        async with conn.execute(
            "SELECT coalesce(sum(value_int >= 9), 0), coalesce(sum(value_int BETWEEN 7 AND 8), 0),"
            " coalesce(sum(value_int <= 6), 0) FROM answers"
            " WHERE question_id IN (SELECT value FROM json_each(?)) AND answered_at >= ?"
            " AND value_int IS NOT NULL",
            (nps_ids, after),
        ) as cursor:
            promoters, passives, detractors = await cursor.fetchone() or (0, 0, 0)
        mix = dict.fromkeys(SentimentLabel, 0)
        for label in SentimentLabel:
            # One indexed count per label reads only the matching range of answers_sentiment.
            async with conn.execute(
                "SELECT count(*) FROM answers WHERE sentiment_label = ? AND answered_at >= ?",
                (label.value, after),
            ) as cursor:
                row = await cursor.fetchone()
            mix[label] = int(row[0]) if row else 0
        async with conn.execute(
            "SELECT p.pseudonym, a.question_id, a.value_text, a.polarity, a.answered_at"
            " FROM answers a JOIN responses r ON r.id = a.response_id"
            " JOIN patients p ON p.id = r.patient_id"
            " WHERE a.sentiment_label = 'negative' AND a.answered_at >= ?"
            " ORDER BY a.answered_at DESC LIMIT ?",
            (after, LATEST_NEGATIVE_COMMENTS),
        ) as cursor:
            negative = tuple(
                NegativeComment(
                    patient_pseudonym=row["pseudonym"],
                    question_id=row["question_id"],
                    text=row["value_text"],
                    polarity=row["polarity"],
                    answered_at=from_db_time(row["answered_at"]),
                )
                for row in await cursor.fetchall()
            )
        by_survey, breakdowns = await self._groups(after, scores)
        invitations, invitations_by = await self._invitations(after)
        cases = await self._cases(after)
        return Summary(
            period=period,
            started=int(started),
            completed=int(completed),
            csat_count=int(csat_count),
            csat_mean=float(csat_mean) if csat_mean is not None else None,
            csat_satisfied=int(csat_satisfied),
            nps_promoters=int(promoters),
            nps_passives=int(passives),
            nps_detractors=int(detractors),
            sentiment_mix=mix,
            negative_comments=negative,
            breakdowns=breakdowns,
            by_survey=by_survey,
            invitations=invitations,
            invitations_by=invitations_by,
            cases=cases,
        )

    async def _cases(self, after: str) -> CaseFigures | None:
        """Cases opened since `after`: how many were resolved, and how fast."""
        async with self._db.connection.execute(
            "SELECT count(*), count(resolved_at) FROM alerts WHERE created_at >= ?", (after,)
        ) as cursor:
            opened, resolved = await cursor.fetchone() or (0, 0)
        if not opened:
            return None
        return CaseFigures(
            opened=int(opened),
            resolved=int(resolved),
            median_first_reply=await self._median_since_alert("first_reply_at", after),
            median_resolution=await self._median_since_alert("resolved_at", after),
        )

    async def _median_since_alert(self, column: str, after: str) -> timedelta | None:
        """The median time from an alert to `column`, over alerts created since `after`."""
        if column not in ("first_reply_at", "resolved_at"):  # pragma: no cover - a bug
            raise ValueError(column)
        # The middle value, or the mean of the two middle ones; SQLite has no median().
        chosen = f"FROM alerts WHERE created_at >= ? AND {column} IS NOT NULL"
        async with self._db.connection.execute(
            "SELECT avg(seconds) FROM (SELECT"  # noqa: S608 - `column` is one of two names
            f" (julianday({column}) - julianday(created_at)) * 86400 AS seconds {chosen}"
            f" ORDER BY seconds LIMIT 2 - (SELECT count(*) {chosen}) % 2"
            f" OFFSET (SELECT (count(*) - 1) / 2 {chosen}))",
            (after,) * 3,
        ) as cursor:
            row = await cursor.fetchone()
        if row is None or row[0] is None:
            return None
        return timedelta(seconds=round(float(row[0])))

    async def _invitations(
        self, after: str
    ) -> tuple[InvitationFunnel | None, dict[BreakdownBy, tuple[InvitationFunnel, ...]]]:
        """Visit links created since `after`: in all, per provider and per location."""
        totals: dict[str, list[int]] = {}
        groups: dict[BreakdownBy, dict[str, list[int]]] = {
            BreakdownBy.PROVIDER: {},
            BreakdownBy.LOCATION: {},
        }
        async with self._db.connection.execute(
            "SELECT provider, location, count(*), count(patient_id), count(used_at)"
            " FROM visits WHERE code IS NOT NULL AND created_at >= ? GROUP BY 1, 2",
            (after,),
        ) as cursor:
            async for row in cursor:
                counts = [int(value) for value in row[2:5]]
                _add(totals, "", counts)
                for by, name in ((BreakdownBy.PROVIDER, row[0]), (BreakdownBy.LOCATION, row[1])):
                    if name is not None:
                        _add(groups[by], name, counts)
        if not totals:
            return None, {}
        ranked = {
            by: tuple(InvitationFunnel(name, *sums) for name, sums in _largest(found))
            for by, found in groups.items()
        }
        return InvitationFunnel("", *totals[""]), ranked

    async def _groups(
        self, after: str, scores: ScoreQuestions
    ) -> tuple[tuple[Breakdown, ...], dict[BreakdownBy, tuple[Breakdown, ...]]]:
        """Responses, CSAT and NPS per survey, and per treatment, provider and location.

        One pass over the period's responses, one row each (its csat and nps answers are
        primary-key lookups), grouped by survey and the three visit fields at once; the
        few groups that come back are then added up per survey and per field.
        """
        surveys: dict[str, list[int]] = {}
        totals: dict[BreakdownBy, dict[str, list[int]]] = {by: {} for by in BreakdownBy}
        async with self._db.connection.execute(
            "SELECT r.survey_id, v.treatment, v.provider, v.location, count(*),"
            " coalesce(sum(c.value_int), 0), count(c.value_int),"
            " coalesce(sum(n.value_int >= 9), 0), coalesce(sum(n.value_int <= 6), 0),"
            " count(n.value_int)"
            " FROM responses r LEFT JOIN visits v ON v.id = r.visit_id"
            " LEFT JOIN answers c ON c.response_id = r.id"
            " AND c.question_id IN (SELECT value FROM json_each(?))"
            " LEFT JOIN answers n ON n.response_id = r.id"
            " AND n.question_id IN (SELECT value FROM json_each(?))"
            " WHERE r.started_at >= ? GROUP BY 1, 2, 3, 4",
            (json.dumps(scores.csat), json.dumps(scores.nps), after),
        ) as cursor:
            async for row in cursor:
                counts = [int(value) for value in row[4:10]]
                _add(surveys, row[0], counts)
                for by, name in zip(BreakdownBy, row[1:4], strict=True):
                    if name is not None:
                        _add(totals[by], name, counts)
        by_survey = tuple(_breakdown(name, sums) for name, sums in surveys.items())
        return by_survey, {by: _top(groups) for by, groups in totals.items()}

    async def answered_questions(self) -> dict[str, bool]:
        """Every question id with an answer, mapped to whether any answer has a sentiment."""
        async with self._db.connection.execute(
            "SELECT question_id, max(sentiment_label IS NOT NULL) FROM answers"
            " GROUP BY question_id ORDER BY question_id"
        ) as cursor:
            return {row[0]: bool(row[1]) for row in await cursor.fetchall()}

    async def iter_responses(self, since: datetime | None) -> AsyncIterator[Response]:
        """Every response started since `since`, oldest first, in one streaming query.

        rowid breaks ties between responses started in the same microsecond.
        """
        after = _BEGINNING if since is None else to_db_time(since)
        # The response's columns come first, as RESPONSE_SELECT has them; answers follow.
        select = RESPONSE_SELECT.replace(
            "FROM responses r",
            ", a.question_id, a.value_kind, a.value_int, a.value_text, a.answered_at,"
            " a.polarity, a.sentiment_label, a.topics, a.reasons FROM responses r",
        )
        async with self._db.connection.execute(
            f"{select} LEFT JOIN answers a ON a.response_id = r.id"
            " WHERE r.started_at >= ? ORDER BY r.started_at, r.rowid, a.answered_at",
            (after,),
        ) as cursor:
            current = None
            answers = []
            async for row in cursor:
                if current is not None and current["id"] != row["id"]:
                    yield row_to_response(current, answers)
                    answers = []
                current = row
                if row["question_id"] is not None:
                    answers.append(row_to_answer(row))
            if current is not None:
                yield row_to_response(current, answers)


def _add(groups: dict[str, list[int]], name: str, counts: list[int]) -> None:
    sums = groups.setdefault(name, [0] * len(counts))
    for index, count in enumerate(counts):
        sums[index] += count


def _breakdown(name: str, sums: list[int]) -> Breakdown:
    """A group from its sums: responses, csat sum and count, promoters, detractors, nps count."""
    responses, csat_sum, csat_count, promoters, detractors, nps_count = sums
    return Breakdown(
        name=name,
        responses=responses,
        csat_mean=csat_sum / csat_count if csat_count else None,
        nps_promoters=promoters,
        nps_detractors=detractors,
        nps_count=nps_count,
    )


def _largest(groups: dict[str, list[int]]) -> list[tuple[str, list[int]]]:
    """The groups with the largest first count, at most BREAKDOWN_ROWS, ties by name."""
    return sorted(groups.items(), key=lambda item: (-item[1][0], item[0]))[:BREAKDOWN_ROWS]


def _top(groups: dict[str, list[int]]) -> tuple[Breakdown, ...]:
    """The largest groups as breakdowns."""
    return tuple(_breakdown(name, sums) for name, sums in _largest(groups))
