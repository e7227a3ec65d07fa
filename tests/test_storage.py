"""Storage against real SQLite files: migrations, durability rules and aggregates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.domain.models import (
    AlertReason,
    Answer,
    AnswerCommit,
    ResponseStatus,
    Sentiment,
    SentimentLabel,
)
from bot.domain.periods import Period
from bot.domain.surveys import AnswerValue, ScoreQuestions
from storage.alerts import SqliteAlertStore
from storage.database import Database, migrations, newest_revision
from storage.reports import SqliteReportStore
from storage.responses import SqliteResponseStore

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SCORES = ScoreQuestions(csat=("csat",), nps=("nps",))


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "feedback.db")
    yield database
    await database.close()


async def test_migrations_apply_once_and_set_the_version(tmp_path: Path) -> None:
    path = tmp_path / "feedback.db"
    database = await Database.open(path)
    try:
        assert await database.schema_version() == newest_revision()
        pragma = database.connection.scalar
        assert await pragma(text("PRAGMA user_version")) == len(migrations())
        assert await pragma(text("PRAGMA journal_mode")) == "wal"
        assert await pragma(text("PRAGMA foreign_keys")) == 1
    finally:
        await database.close()
    again = await Database.open(path)
    try:
        await again.migrate()
        assert await again.schema_version() == newest_revision()
    finally:
        await again.close()


def test_migration_files_are_numbered_without_gaps() -> None:
    names = [name for _, name, _ in migrations()]
    assert names[0] == "0001_initial.sql"
    assert [number for number, _, _ in migrations()] == list(range(1, len(names) + 1))


def answer(question_id: str, value: AnswerValue, label: SentimentLabel | None = None) -> Answer:
    sentiment = None if label is None else Sentiment(-0.5, label, ("staff",))
    return Answer(question_id, value, NOW, sentiment)


async def test_an_answer_is_stored_once(database: Database) -> None:
    store = SqliteResponseStore(database)
    patient = await store.add_patient(1, NOW)
    assert (await store.add_patient(1, NOW)).pseudonym == patient.pseudonym
    response = await store.start_response(patient.id, "post_visit", NOW)
    commit = AnswerCommit(response.id, answer("csat", 4), False, (), 99)
    assert await store.commit_answer(commit)
    assert not await store.commit_answer(commit)
    assert await store.seen(99)
    stored = await store.get_response(response.id)
    assert stored is not None
    assert stored.values == {"csat": 4}


async def test_a_closed_response_takes_no_answers(database: Database) -> None:
    store = SqliteResponseStore(database)
    patient = await store.add_patient(1, NOW)
    response = await store.start_response(patient.id, "post_visit", NOW)
    await store.abandon(response.id)
    assert not await store.commit_answer(
        AnswerCommit(response.id, answer("csat", 4), False, (), None)
    )
    assert await store.open_response(patient.id) is None


async def test_values_of_every_kind_round_trip(database: Database) -> None:
    store = SqliteResponseStore(database)
    patient = await store.add_patient(1, NOW)
    response = await store.start_response(patient.id, "s", NOW)
    values: dict[str, AnswerValue] = {
        "n": 0,
        "yes": True,
        "no": False,
        "t": "It's 'fine'; DROP TABLE answers;--",
        "s": None,
    }
    for question_id, value in values.items():
        await store.commit_answer(
            AnswerCommit(response.id, answer(question_id, value), False, (), None)
        )
    stored = await store.get_response(response.id)
    assert stored is not None
    assert stored.values == values


async def test_forgetting_a_patient_erases_responses_answers_and_alerts(
    database: Database,
) -> None:
    store = SqliteResponseStore(database)
    patient = await store.add_patient(1, NOW)
    response = await store.start_response(patient.id, "post_visit", NOW)
    await store.commit_answer(
        AnswerCommit(response.id, answer("csat", 1), False, (AlertReason.LOW_CSAT,), None)
    )
    assert len(await SqliteAlertStore(database).pending_alerts(NOW)) == 1
    assert await store.forget_patient(1, NOW)
    assert not await store.forget_patient(1, NOW)
    assert await store.get_response(response.id) is None
    assert await SqliteAlertStore(database).pending_alerts(NOW) == []


async def test_an_alert_is_pending_until_its_latest_version_is_delivered(
    database: Database,
) -> None:
    store, alerts = SqliteResponseStore(database), SqliteAlertStore(database)
    patient = await store.add_patient(1, NOW)
    response = await store.start_response(patient.id, "post_visit", NOW)
    await store.commit_answer(
        AnswerCommit(response.id, answer("csat", 1), False, (AlertReason.LOW_CSAT,), None)
    )
    [pending] = await alerts.pending_alerts(NOW)
    assert pending.staff_message_id is None
    # Another answer arrives before the first version is marked delivered.
    reasons = (AlertReason.LOW_CSAT, AlertReason.LOW_NPS)
    await store.commit_answer(AnswerCommit(response.id, answer("nps", 2), False, reasons, None))
    await alerts.mark_delivered(pending.id, 555, pending.version, maybe_repeat=False)
    [again] = await alerts.pending_alerts(NOW)
    assert again.staff_message_id == 555
    assert again.reasons == reasons
    await alerts.mark_delivered(again.id, 555, again.version, maybe_repeat=False)
    assert await alerts.pending_alerts(NOW) == []


async def test_summary_aggregates(database: Database) -> None:
    store = SqliteResponseStore(database)
    rows = [
        (5, 10, SentimentLabel.POSITIVE),
        (4, 9, None),
        (2, 7, SentimentLabel.NEGATIVE),
        (1, 0, SentimentLabel.NEGATIVE),
    ]
    for number, (csat, nps, label) in enumerate(rows):
        patient = await store.add_patient(number, NOW)
        response = await store.start_response(patient.id, "post_visit", NOW)
        for item in (answer("csat", csat), answer("nps", nps)):
            await store.commit_answer(AnswerCommit(response.id, item, False, (), None))
        comment = (
            answer("comment", f"comment {number}", label) if label else answer("comment", None)
        )
        await store.commit_answer(AnswerCommit(response.id, comment, True, (), None))
    old = await store.add_patient(99, NOW)
    await store.start_response(old.id, "post_visit", NOW - timedelta(days=40))

    reports = SqliteReportStore(database)
    summary = await reports.summary(Period.DAYS_30, NOW - timedelta(days=30), SCORES)
    assert (summary.started, summary.completed) == (4, 4)
    assert summary.csat_mean == 3.0
    assert summary.csat_share_satisfied == 0.5
    assert (summary.nps_promoters, summary.nps_passives, summary.nps_detractors) == (2, 1, 1)
    assert summary.nps == 25.0
    assert summary.sentiment_mix == {
        SentimentLabel.NEGATIVE: 2,
        SentimentLabel.NEUTRAL: 0,
        SentimentLabel.POSITIVE: 1,
        SentimentLabel.UNKNOWN: 0,
    }
    assert sorted(c.text for c in summary.negative_comments) == ["comment 2", "comment 3"]
    everything = await reports.summary(Period.ALL, None, SCORES)
    assert everything.started == 5
    statuses = [r.status async for r in reports.iter_responses(None)]
    assert statuses == [ResponseStatus.IN_PROGRESS] + [ResponseStatus.COMPLETED] * 4


async def test_an_empty_database_summarises_to_nothing(database: Database) -> None:
    summary = await SqliteReportStore(database).summary(Period.ALL, None, SCORES)
    assert (summary.started, summary.csat_mean, summary.nps, summary.completion_rate) == (
        0,
        None,
        None,
        None,
    )


async def test_purge_deletes_old_responses_and_patients_left_with_nothing(
    database: Database,
) -> None:
    store = SqliteResponseStore(database)
    old_only = await store.add_patient(1, NOW - timedelta(days=800))
    await store.start_response(old_only.id, "post_visit", NOW - timedelta(days=800))
    returning = await store.add_patient(2, NOW - timedelta(days=800))
    earlier = await store.start_response(returning.id, "post_visit", NOW - timedelta(days=800))
    await store.abandon(earlier.id)
    recent = await store.start_response(returning.id, "post_visit", NOW - timedelta(days=5))
    assert await store.purge_before(NOW - timedelta(days=730), NOW) == 2
    assert await store.get_patient(1) is None
    assert await store.get_patient(2) is not None
    assert await store.get_response(recent.id) is not None


async def test_purge_queues_the_staff_alerts_of_deleted_responses_to_be_blanked(
    database: Database,
) -> None:
    store, alerts = SqliteResponseStore(database), SqliteAlertStore(database)
    for external_id, age in ((1, timedelta(days=800)), (2, timedelta(days=5))):
        patient = await store.add_patient(external_id, NOW - age)
        response = await store.start_response(patient.id, "post_visit", NOW - age)
        answer = Answer("csat", 1, NOW - age)
        commit = AnswerCommit(response.id, answer, False, (AlertReason.LOW_CSAT,), None)
        assert await store.commit_answer(commit)
    for message_id, alert in enumerate(await alerts.pending_alerts(None), start=100):
        await alerts.mark_delivered(alert.id, message_id, alert.version, maybe_repeat=False)
    await store.purge_before(NOW - timedelta(days=730), NOW)
    # Only the staff message of the response that was deleted; and only its id is kept.
    assert [r.message_id for r in await alerts.pending_redactions(NOW)] == [100]


async def test_pending_alerts_come_a_page_at_a_time_oldest_first(database: Database) -> None:
    store, alerts = SqliteResponseStore(database), SqliteAlertStore(database)
    for external_id in range(1, 6):
        patient = await store.add_patient(external_id, NOW)
        response = await store.start_response(patient.id, "post_visit", NOW)
        commit = AnswerCommit(
            response.id, Answer("csat", 1, NOW), False, (AlertReason.LOW_CSAT,), None
        )
        assert await store.commit_answer(commit)
    first = await alerts.pending_alerts(NOW, limit=2)
    rest = await alerts.pending_alerts(NOW, after_id=first[-1].id, limit=10)
    everything = await alerts.pending_alerts(NOW)
    assert [a.id for a in first + rest] == [a.id for a in everything]
    assert (len(first), len(rest)) == (2, 3)


async def test_a_comment_written_like_sql_is_stored_and_read_back_as_typed(
    database: Database,
) -> None:
    store = SqliteResponseStore(database)
    patient = await store.add_patient(4242, NOW)
    response = await store.start_response(patient.id, "post_visit", NOW)
    typed = "It's 09:00 :name ? $1 %s'); DROP TABLE answers; --"
    answer = Answer("comment", typed, NOW)
    assert await store.commit_answer(AnswerCommit(response.id, answer, False, (), None))
    stored = await store.get_response(response.id)
    assert stored is not None
    assert [a.value for a in stored.answers] == [typed]
