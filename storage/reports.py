"""Summaries and exports: aggregates computed in SQL, so they stay fast on years of data."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from datetime import date, datetime, timedelta
from statistics import median

from sqlalchemy import Column, ColumnElement, and_, case, exists, func, literal, select, tuple_

from bot.domain.intake import Delivery
from bot.domain.models import (
    Answer,
    Breakdown,
    BreakdownBy,
    CaseFigures,
    CommentFilter,
    CommentPage,
    InvitationFunnel,
    ListedComment,
    NegativeComment,
    Response,
    SentimentLabel,
    Summary,
    VisitGroup,
)
from bot.domain.periods import Period
from bot.domain.surveys import ScoreQuestions
from bot.domain.trend import DayFigures
from storage.database import Database, from_db_time, to_db_time
from storage.responses import (
    RESPONSE_COLUMNS,
    RESPONSES_WITH_PATIENTS,
    row_to_answer,
    row_to_response,
    row_to_visit,
)
from storage.schema import (
    COMMENT_SEARCH,
    alerts,
    answers,
    comment_keys,
    comment_search,
    daily_groups,
    daily_scores,
    patients,
    responses,
    visit_events,
    visits,
)
from storage.totals import (
    END_OF_TIME,
    GROUP_COLUMNS,
    SCORE_COLUMNS,
    Basis,
    Figures,
    Tally,
    basis_of,
    next_day,
    rebuild,
    stored_basis,
    tally_days,
    tally_rows,
)

LATEST_NEGATIVE_COMMENTS = 5


BREAKDOWN_ROWS = 8  # a phone screen's worth per breakdown

# ISO-8601 text sorts by time, and every timestamp sorts after the empty string.
_BEGINNING = ""

_NPS_COLUMNS = ("nps_promoters", "nps_passives", "nps_detractors")

# Words of fewer letters are not in SQLite's index of comments (it holds every three in a row).
_TRIGRAM = 3
# Up to this many comments found by the index, the search starts from them (see
# `_few_with_words`).
_FEW_COMMENTS = 5000


class SqliteReportStore:
    """The `ReportStore` over the shared database."""

    def __init__(self, database: Database, *, few_comments: int = _FEW_COMMENTS) -> None:
        self._db = database
        self._few_comments = few_comments

    async def summary(
        self,
        period: Period,
        since: datetime | None,
        scores: ScoreQuestions,
        *,
        from_totals: bool = True,
    ) -> Summary:
        """Aggregates over the responses started since `since` (all if `None`).

        `scores` says which questions hold the CSAT and NPS scores (the surveys' roles).
        Whole days come from the daily totals; `from_totals=False` computes everything from
        the rows instead (the same figures, slowly: for checking the totals).
        """
        after = _BEGINNING if since is None else to_db_time(since)
        tally = await self._tally(after, scores, from_totals=from_totals)
        per_survey = tally.survey_totals()
        total = {c: sum(f[c] for f in per_survey.values()) for c in SCORE_COLUMNS}
        csat_count = total["csat_count"]
        latest_negative = (
            select(
                patients.c.pseudonym,
                answers.c.question_id,
                answers.c.value_text,
                answers.c.polarity,
                answers.c.answered_at,
            )
            .select_from(
                answers.join(responses, responses.c.id == answers.c.response_id).join(
                    patients, patients.c.id == responses.c.patient_id
                )
            )
            .where(
                answers.c.sentiment_label == SentimentLabel.NEGATIVE.value,
                answers.c.answered_at >= after,
            )
            .order_by(answers.c.answered_at.desc())
            .limit(LATEST_NEGATIVE_COMMENTS)
        )
        negative = tuple(
            NegativeComment(
                patient_pseudonym=row.pseudonym,
                question_id=row.question_id,
                text=row.value_text,
                polarity=row.polarity,
                answered_at=from_db_time(row.answered_at),
            )
            for row in await self._db.connection.rows(latest_negative)
        )
        by_survey = tuple(
            _breakdown(name, _survey_sums(figures)) for name, figures in sorted(per_survey.items())
        )
        breakdowns = {
            by: _top({name: _group_sums(figures) for name, figures in groups.items()})
            for by, groups in tally.group_totals().items()
        }
        invitations, invitations_by = await self._invitations(after)
        visits_by_channel = await self._visits_by_channel(after)
        cases = await self._cases(after)
        return Summary(
            period=period,
            started=total["started"],
            completed=total["completed"],
            csat_count=csat_count,
            csat_mean=total["csat_sum"] / csat_count if csat_count else None,
            csat_satisfied=total["csat_satisfied"],
            nps_promoters=total["nps_promoters"],
            nps_passives=total["nps_passives"],
            nps_detractors=total["nps_detractors"],
            # The sentiment columns are named after the labels.
            sentiment_mix={label: total[label.value] for label in SentimentLabel},
            negative_comments=negative,
            breakdowns=breakdowns,
            by_survey=by_survey,
            invitations=invitations,
            invitations_by=invitations_by,
            visits_by_channel=visits_by_channel,
            cases=cases,
            csat_scale=scores.shared_csat_scale,
        )

    async def _cases(self, after: str) -> CaseFigures | None:
        """Cases opened since `after`: how many were resolved, and how fast."""
        row = await self._db.connection.first(
            select(func.count(), func.count(alerts.c.resolved_at)).where(
                alerts.c.case_opened_at >= after
            )
        )
        opened, resolved = (row[0], row[1]) if row else (0, 0)
        if not opened:
            return None
        return CaseFigures(
            opened=int(opened),
            resolved=int(resolved),
            median_first_reply=await self._median_since_alert(alerts.c.first_reply_at, after),
            median_resolution=await self._median_since_alert(alerts.c.resolved_at, after),
        )

    async def _median_since_alert(self, reached: Column[str], after: str) -> timedelta | None:
        """The median time from an alert to the time `reached`, over alerts since `after`."""
        # In Python: the backends share no median() nor a way to subtract text times; a
        # period's cases are a few thousand at most.
        rows = await self._db.connection.rows(
            select(alerts.c.case_opened_at, reached).where(
                alerts.c.case_opened_at >= after, reached.is_not(None)
            )
        )
        if not rows:
            return None
        seconds = [(from_db_time(row[1]) - from_db_time(row[0])).total_seconds() for row in rows]
        return timedelta(seconds=round(median(seconds)))

    async def _invitations(
        self, after: str
    ) -> tuple[InvitationFunnel | None, dict[BreakdownBy, tuple[InvitationFunnel, ...]]]:
        """Visit links created since `after`: in all, per provider and per location."""
        totals: dict[str, list[int]] = {}
        groups: dict[BreakdownBy, dict[str, list[int]]] = {
            BreakdownBy.PROVIDER: {},
            BreakdownBy.LOCATION: {},
        }
        funnel = (
            select(
                visits.c.provider,
                visits.c.location,
                func.count(),
                func.count(visits.c.patient_id),
                func.count(visits.c.used_at),
            )
            .where(visits.c.code.is_not(None), visits.c.created_at >= after)
            .group_by(visits.c.provider, visits.c.location)
        )
        for row in await self._db.connection.rows(funnel):
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

    async def comments(
        self, wanted: CommentFilter, limit: int, offset: int, *, count_up_to: int
    ) -> CommentPage:
        """Patients' comments the filter finds, newest first: `limit` from `offset` on.

        A word matches anywhere in a comment, whatever its case (`%` and `_` as typed).
        """
        conditions = [answers.c.value_kind == "text", answers.c.sentiment_label.is_not(None)]
        for word in wanted.words:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(answers.c.value_text.ilike(f"%{escaped}%", escape="\\"))
        few = await self._few_with_words(wanted.words)
        if few is not None:
            conditions.append(few)
        if wanted.since is not None:
            conditions.append(answers.c.answered_at >= to_db_time(wanted.since))
        if wanted.sentiment is not None:
            conditions.append(answers.c.sentiment_label == wanted.sentiment.value)
        for column, value in (
            (visits.c.treatment, wanted.treatment),
            (visits.c.provider, wanted.provider),
            (visits.c.location, wanted.location),
            (responses.c.survey_id, wanted.survey),
        ):
            if value is not None:
                conditions.append(column == value)
        filtered = answers.join(responses, responses.c.id == answers.c.response_id).outerjoin(
            visits, visits.c.id == responses.c.visit_id
        )
        # Counted up to a limit: past it the page says "more than", rather than count a
        # million answers for a number nobody reads to the last digit.
        counted = (
            select(literal(1)).select_from(filtered).where(*conditions).limit(count_up_to + 1)
        )
        # The page's answers first, then what is shown of those 50 alone: reading each
        # candidate's patient while looking for them doubled the time of a provider's fourth
        # page on PostgreSQL.
        page = (
            select(answers.c.response_id, answers.c.question_id, answers.c.answered_at)
            .select_from(filtered)
            .where(*conditions)
            .order_by(answers.c.answered_at.desc(), answers.c.response_id)
            .limit(limit)
            .offset(offset)
            .subquery("page")
        )
        shown = (
            select(
                patients.c.pseudonym,
                responses.c.survey_id,
                answers.c.question_id,
                answers.c.value_text,
                answers.c.sentiment_label,
                answers.c.polarity,
                answers.c.answered_at,
                visits.c.treatment,
                visits.c.provider,
                visits.c.location,
                visits.c.visit_date,
            )
            .select_from(
                page.join(
                    answers,
                    and_(
                        answers.c.response_id == page.c.response_id,
                        answers.c.question_id == page.c.question_id,
                    ),
                )
                .join(responses, responses.c.id == answers.c.response_id)
                .join(patients, patients.c.id == responses.c.patient_id)
                .outerjoin(visits, visits.c.id == responses.c.visit_id)
            )
            .order_by(page.c.answered_at.desc(), page.c.response_id)
        )
        # Both at once: PostgreSQL runs them on two connections (SQLite one after the other).
        total, rows = await asyncio.gather(
            self._db.connection.scalar(select(func.count()).select_from(counted.subquery())),
            self._db.connection.rows(shown),
        )
        return CommentPage(
            total=int(total or 0),
            comments=tuple(
                ListedComment(
                    patient_pseudonym=row.pseudonym,
                    survey_id=row.survey_id,
                    question_id=row.question_id,
                    text=row.value_text,
                    label=SentimentLabel(row.sentiment_label),
                    polarity=row.polarity,
                    answered_at=from_db_time(row.answered_at),
                    visit=row_to_visit(row._mapping),
                )
                for row in rows
            ),
        )

    async def _few_with_words(self, words: tuple[str, ...]) -> ColumnElement[bool] | None:
        """On SQLite, the comments its index of trigrams finds for these words, if few.

        A word found in few comments would otherwise be looked for in every one; a common
        word is found soon enough in the newest comments, where the page starts, and its
        thousands of matches would cost more to collect than to come across. Each word is
        checked as typed all the same (the index finds a superset: it ignores the case of
        more letters than SQLite's LIKE, and words under three letters are not in it).
        (PostgreSQL's planner uses its trigram index by itself.)
        """
        indexed = [word for word in words if len(word) >= _TRIGRAM]
        if self._db.postgresql or not indexed:
            return None
        query = " AND ".join('"' + word.replace('"', '""') + '"' for word in indexed)
        found = (
            select(comment_search.c.rowid)
            .where(comment_search.c[COMMENT_SEARCH].op("MATCH")(query))
            .limit(self._few_comments + 1)
        )
        counted = await self._db.connection.scalar(
            select(func.count()).select_from(found.subquery())
        )
        if int(counted or 0) > self._few_comments:
            return None
        keys = select(comment_keys.c.response_id, comment_keys.c.question_id).where(
            comment_keys.c.id.in_(found)
        )
        return tuple_(answers.c.response_id, answers.c.question_id).in_(keys)

    async def visit_names(self) -> tuple[list[str], list[str]]:
        """Every provider and every location responses' visits name, sorted.

        From the daily totals' groups: a few rows a day, not every visit.
        """
        named = []
        for dimension in (BreakdownBy.PROVIDER, BreakdownBy.LOCATION):
            rows = await self._db.connection.rows(
                select(daily_groups.c.name)
                .where(daily_groups.c.dimension == dimension.value)
                .distinct()
                .order_by(daily_groups.c.name)
            )
            named.append([str(row[0]) for row in rows])
        return named[0], named[1]

    async def visit_groups(
        self, since: datetime | None, scores: ScoreQuestions, *, from_totals: bool = True
    ) -> list[VisitGroup]:
        """Responses started since `since` per provider, treatment and location; largest first.

        A response's CSAT is its answer to a CSAT question (NPS likewise); responses with no
        visit form the group with no provider, treatment nor location. From the daily totals
        (`from_totals=False` counts the rows instead, to check them).
        """
        after = _BEGINNING if since is None else to_db_time(since)
        tally = await self._tally(after, scores, from_totals=from_totals, visit_groups=True)
        together = tally.visit_group_totals()
        # What the surveys count beyond the visits' groups is the responses without a visit.
        beyond = dict.fromkeys(GROUP_COLUMNS, 0)
        for figures in tally.survey_totals().values():
            beyond["responses"] += figures["started"]
            beyond["csat_count"] += figures["csat_count"]
            beyond["csat_sum"] += figures["csat_sum"]
            beyond["nps_promoters"] += figures["nps_promoters"]
            beyond["nps_detractors"] += figures["nps_detractors"]
            beyond["nps_count"] += sum(figures[c] for c in _NPS_COLUMNS)
        for figures in together.values():
            for column, value in figures.items():
                beyond[column] -= value
        if any(beyond.values()):
            unnamed = together.setdefault(("", "", ""), dict.fromkeys(GROUP_COLUMNS, 0))
            for column, value in beyond.items():
                unnamed[column] += value
        groups = [
            VisitGroup(
                provider or None,
                treatment or None,
                location or None,
                responses=figures["responses"],
                csat_count=figures["csat_count"],
                csat_sum=figures["csat_sum"],
                nps_promoters=figures["nps_promoters"],
                nps_passives=(
                    figures["nps_count"] - figures["nps_promoters"] - figures["nps_detractors"]
                ),
                nps_detractors=figures["nps_detractors"],
            )
            for (provider, treatment, location), figures in together.items()
        ]
        return sorted(groups, key=lambda g: (-g.responses, g.provider or "", g.treatment or ""))

    async def _visits_by_channel(self, after: str) -> tuple[InvitationFunnel, ...]:
        """Announced visits received since `after`, per channel: invited, opened, completed.

        Opened: the patient answered at least the first question, whichever way they were
        asked (a survey sent in Telegram is "opened" only once answered).
        """
        answered = exists().where(
            responses.c.visit_id == visits.c.id,
            exists().where(answers.c.response_id == responses.c.id),
        )
        opened = case((answered, 1))
        rows = await self._db.connection.rows(
            select(
                visit_events.c.delivery,
                func.count(),
                func.count(opened),
                func.count(visits.c.used_at),
            )
            .join(visits, visits.c.id == visit_events.c.visit_id)
            .where(visit_events.c.received_at >= after)
            .group_by(visit_events.c.delivery)
        )
        found = {row[0]: [int(value) for value in row[1:4]] for row in rows}
        return tuple(
            InvitationFunnel(channel.value, *found[channel.value])
            for channel in Delivery
            if channel.value in found
        )

    async def _tally(
        self, after: str, scores: ScoreQuestions, *, from_totals: bool, visit_groups: bool = False
    ) -> Tally:
        """The figures of responses started from `after` on (see `tally_days`).

        Whole days from the totals, the part-day at the start from the rows.
        """
        basis = await self._totals_for(scores)
        conn = self._db.connection
        if not from_totals:
            return await tally_rows(conn, after, END_OF_TIME, basis, visit_groups=visit_groups)
        if after == _BEGINNING:
            return await tally_days(conn, "", visit_groups=visit_groups)
        following = next_day(after[:10])
        tally = await tally_rows(conn, after, following, basis, visit_groups=visit_groups)
        tally.merge(await tally_days(conn, following, visit_groups=visit_groups))
        return tally

    async def _totals_for(self, scores: ScoreQuestions) -> Basis:
        """The daily totals' basis, (re)building them first if they count other questions."""
        await self.prepare(scores)
        return Basis(basis_of(scores))

    async def totals_due(self, scores: ScoreQuestions) -> bool:
        """Whether the daily totals count other questions (or none yet) and need a build."""
        return not _counts(await stored_basis(self._db.connection), basis_of(scores))

    async def prepare(self, scores: ScoreQuestions) -> bool:
        """Build the daily totals if they need it; whether they did.

        They need it after the upgrade that adds them, or when the survey file moved a CSAT
        or NPS: the bot calls this at start-up rather than leave it to the first summary.
        """
        if not await self.totals_due(scores):
            return False
        basis = basis_of(scores)
        # Alone: two workers starting together would otherwise both build them.
        async with self._db.transaction(alone=True) as conn:
            if _counts(await stored_basis(conn), basis):  # rebuilt while this waited
                return False
            await rebuild(conn, scores)
        return True

    async def daily_figures(self, first_day: date, scores: ScoreQuestions) -> list[DayFigures]:
        """Each survey's figures per day, from `first_day` on, from the daily totals."""
        await self._totals_for(scores)
        days = (
            select(
                daily_scores.c.day,
                daily_scores.c.survey_id,
                daily_scores.c.started,
                daily_scores.c.csat_count,
                daily_scores.c.csat_sum,
                daily_scores.c.nps_promoters,
                daily_scores.c.nps_passives,
                daily_scores.c.nps_detractors,
            )
            .where(daily_scores.c.day >= first_day.isoformat())
            .order_by(daily_scores.c.day)
        )
        return [
            DayFigures(date.fromisoformat(row[0]), row[1], *row[2:])
            for row in await self._db.connection.rows(days)
        ]

    async def answered_questions(self) -> dict[str, bool]:
        """Every question id with an answer, mapped to whether any answer has a sentiment."""
        rows = await self._db.connection.rows(
            select(
                answers.c.question_id,
                func.max(case((answers.c.sentiment_label.is_not(None), 1), else_=0)),
            )
            .group_by(answers.c.question_id)
            .order_by(answers.c.question_id)
        )
        return {row[0]: bool(row[1]) for row in rows}

    async def iter_responses(self, since: datetime | None) -> AsyncGenerator[Response, None]:
        """Every response started since `since`, oldest first, in one streaming query.

        The order they were stored in breaks ties between responses started in the same
        microsecond.
        """
        after = _BEGINNING if since is None else to_db_time(since)
        # The response's columns come first, as RESPONSE_COLUMNS has them; answers follow.
        query = (
            select(
                *RESPONSE_COLUMNS,
                answers.c.question_id,
                answers.c.value_kind,
                answers.c.value_int,
                answers.c.value_text,
                answers.c.answered_at,
                answers.c.polarity,
                answers.c.sentiment_label,
                answers.c.topics,
                answers.c.reasons,
            )
            .select_from(
                RESPONSES_WITH_PATIENTS.outerjoin(answers, answers.c.response_id == responses.c.id)
            )
            .where(responses.c.started_at >= after)
            .order_by(responses.c.started_at, self._db.insertion_order(), answers.c.answered_at)
        )
        current = None
        given: list[Answer] = []
        # Closed with this generator, not whenever it is collected: a reader gone away
        # (`| head`) must give the connection back before the database closes.
        async with contextlib.aclosing(self._db.stream(query)) as rows:
            async for row in rows:
                columns = row._mapping
                if current is not None and current["id"] != columns["id"]:
                    yield row_to_response(current, given)
                    given = []
                current = columns
                if columns["question_id"] is not None:
                    given.append(row_to_answer(columns))
        if current is not None:
            yield row_to_response(current, given)


def _add(groups: dict[str, list[int]], name: str, counts: list[int]) -> None:
    sums = groups.setdefault(name, [0] * len(counts))
    for index, count in enumerate(counts):
        sums[index] += count


def _survey_sums(figures: Figures) -> list[int]:
    """A survey's figures as `_breakdown` takes them."""
    nps_count = figures["nps_promoters"] + figures["nps_passives"] + figures["nps_detractors"]
    return [
        figures["started"],
        figures["csat_sum"],
        figures["csat_count"],
        figures["nps_promoters"],
        figures["nps_detractors"],
        nps_count,
    ]


def _group_sums(figures: Figures) -> list[int]:
    """A treatment's, provider's or location's figures as `_breakdown` takes them."""
    return [
        figures["responses"],
        figures["csat_sum"],
        figures["csat_count"],
        figures["nps_promoters"],
        figures["nps_detractors"],
        figures["nps_count"],
    ]


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


def _counts(stored: Basis | None, basis: tuple[str, str]) -> bool:
    """Whether the stored totals count these score questions."""
    return stored is not None and stored.stored == basis
