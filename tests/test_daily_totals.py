"""The daily totals behind /summary always say what the answers say."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.domain.models import (
    Answer,
    AnswerCommit,
    Sentiment,
    SentimentLabel,
    Visit,
)
from bot.domain.periods import Period
from bot.domain.surveys import ScoreQuestions
from handlers.texts import CATALOGUES
from handlers.texts.formatting import format_summary
from storage.database import Database
from storage.reports import SqliteReportStore
from storage.responses import SqliteResponseStore

NOW = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)
SCORES = ScoreQuestions(csat=("csat",), nps=("nps",))
LABELS = list(SentimentLabel)
EN = CATALOGUES["en"]


async def seed(responses: SqliteResponseStore, reports: SqliteReportStore) -> None:
    """Patients answering over 120 days, with visits, skips, comments and abandoned surveys.

    The totals are built first, so every later write keeps them up to date as the bot does.
    """
    await reports.prepare(SCORES)
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    for n in range(90):
        at = NOW - timedelta(minutes=rng.randrange(120 * 24 * 60))
        patient = await responses.add_patient(n, at)
        response = await responses.start_response(
            patient.id, rng.choice(["post_visit", "followup"]), at
        )
        if rng.random() < 0.7:
            visit = Visit(rng.choice(["filler", "laser"]), rng.choice(["Dr Li", None]), "Downtown")
            await responses.attach_visit(response.id, visit, at)
        answers = [
            Answer("csat", rng.choice([1, 2, 3, 4, 5, None]), at),
            Answer("nps", rng.randint(0, 10), at + timedelta(minutes=1)),
            Answer(
                "comment",
                "words",
                at + timedelta(minutes=2),
                Sentiment(0.0, rng.choice(LABELS), (), ()),
            ),
        ]
        given = rng.randint(0, 3)
        for index, answer in enumerate(answers[:given]):
            await responses.commit_answer(
                AnswerCommit(response.id, answer, index == 2, (), dedup_key=None)
            )
        if given < 3 and rng.random() < 0.5:
            await responses.abandon(response.id)


@dataclass
class Seeded:
    database: Database
    responses: SqliteResponseStore
    reports: SqliteReportStore


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[Seeded]:
    """A database with the seeded answers, its daily totals kept up to date as they came."""
    database = await Database.open(tmp_path / "feedback.db")
    responses, reports = SqliteResponseStore(database), SqliteReportStore(database)
    await seed(responses, reports)
    yield Seeded(database, responses, reports)
    await database.close()


async def test_summaries_from_daily_totals_equal_those_computed_from_the_answers(
    seeded: Seeded,
) -> None:
    responses, reports = seeded.responses, seeded.reports
    # Erasures change the totals of the days they touch.
    await responses.forget_patient(3, NOW)
    await responses.forget_patient(4, NOW)
    await responses.purge_before(NOW - timedelta(days=100, hours=5), NOW)
    sinces = [period.since(NOW) for period in Period]
    sinces += [NOW - timedelta(days=days, minutes=17) for days in (1, 13, 45)]
    for since in sinces:
        from_totals = await reports.summary(Period.ALL, since, SCORES)
        from_rows = await reports.summary(Period.ALL, since, SCORES, from_totals=False)
        assert from_totals == from_rows
    everything = await reports.summary(Period.ALL, None, SCORES)
    assert everything.started > 60  # the comparison covered real data
    assert everything.csat_count > 20
    assert everything.breakdowns


async def test_the_consoles_breakdowns_from_daily_totals_equal_those_computed_from_the_answers(
    seeded: Seeded,
) -> None:
    responses, reports = seeded.responses, seeded.reports
    await responses.forget_patient(3, NOW)
    await responses.purge_before(NOW - timedelta(days=100, hours=5), NOW)
    sinces = [period.since(NOW) for period in Period]
    sinces += [NOW - timedelta(days=days, minutes=17) for days in (1, 13, 45)]
    for since in sinces:
        from_totals = await reports.visit_groups(since, SCORES)
        assert from_totals == await reports.visit_groups(since, SCORES, from_totals=False)
        summary = await reports.summary(Period.ALL, since, SCORES)
        assert sum(group.responses for group in from_totals) == summary.started
        assert sum(group.csat_count for group in from_totals) == summary.csat_count
    groups = {
        (group.provider, group.treatment, group.location): group
        for group in await reports.visit_groups(None, SCORES)
    }
    # Every response counted once: by its visit, or with those that have none.
    assert set(groups) == {
        ("Dr Li", "filler", "Downtown"),
        ("Dr Li", "laser", "Downtown"),
        (None, "filler", "Downtown"),
        (None, "laser", "Downtown"),
        (None, None, None),
    }
    assert all(group.responses > 3 for group in groups.values())


async def test_moving_a_score_to_another_question_rebuilds_the_totals(seeded: Seeded) -> None:
    reports = seeded.reports
    before = await reports.summary(Period.ALL, None, SCORES)
    # A survey file that calls the 0-10 question the CSAT and has no NPS.
    moved = ScoreQuestions(csat=("nps",), nps=())
    after = await reports.summary(Period.ALL, None, moved)
    assert after == await reports.summary(Period.ALL, None, moved, from_totals=False)
    assert after.nps_count == 0
    assert after.csat_count == before.nps_count


async def test_a_database_from_before_the_totals_gets_them_at_its_first_summary(
    seeded: Seeded,
) -> None:
    database, reports = seeded.database, seeded.reports
    async with database.transaction() as conn:  # as migration 0013 leaves an upgrade
        for table in ("daily_scores", "daily_groups", "report_basis"):
            await conn.run(text(f"DELETE FROM {table}"))  # noqa: S608 - the names above
    since = Period.DAYS_30.since(NOW)
    assert await reports.summary(Period.DAYS_30, since, SCORES) == await reports.summary(
        Period.DAYS_30, since, SCORES, from_totals=False
    )
    assert await database.connection.scalar(text("SELECT count(*) FROM daily_scores")) > 30


async def test_a_csat_rated_out_of_ten_counts_nine_and_ten_as_satisfied(seeded: Seeded) -> None:
    reports = seeded.reports
    before = await reports.summary(Period.ALL, None, SCORES)
    # A survey file whose CSAT is the 0-10 question, on its own scale.
    out_of_ten = ScoreQuestions(csat=("nps",), nps=(), csat_scales=(("nps", 0, 10),))
    after = await reports.summary(Period.ALL, None, out_of_ten)
    assert after == await reports.summary(Period.ALL, None, out_of_ten, from_totals=False)
    assert after.csat_count == before.nps_count
    assert after.csat_satisfied == before.nps_promoters  # 9 and 10, not 4 and up
    assert after.csat_scale == range(11)
    report = format_summary(after, EN, markup=False)
    assert "/ 10 · " in report
    assert "rated 9–10" in report


async def test_totals_counted_before_the_cut_came_from_the_scale_are_rebuilt(
    seeded: Seeded,
) -> None:
    database, reports = seeded.database, seeded.reports
    async with database.transaction() as conn:  # as the release before this one left them
        await conn.run(text("""UPDATE report_basis SET csat = '["csat"]'"""))
    assert await reports.totals_due(SCORES)
    assert await reports.prepare(SCORES)
    assert not await reports.totals_due(SCORES)
    since = Period.DAYS_30.since(NOW)
    assert await reports.summary(Period.DAYS_30, since, SCORES) == await reports.summary(
        Period.DAYS_30, since, SCORES, from_totals=False
    )


async def test_csat_questions_on_two_scales_are_summarised_without_naming_one(
    seeded: Seeded,
) -> None:
    # The 1..5 question and the 0..10 one both counted as CSAT: each by its own top two.
    both = ScoreQuestions(csat=("csat", "nps"), nps=(), csat_scales=(("nps", 0, 10),))
    summary = await seeded.reports.summary(Period.ALL, None, both)
    assert summary == await seeded.reports.summary(Period.ALL, None, both, from_totals=False)
    assert summary.csat_scale is None
    report = format_summary(summary, EN, markup=False)
    assert "in their scale's top two" in report
    assert "on more than one scale" in report
    assert "/ 5" not in report
