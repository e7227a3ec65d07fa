"""A database made by the previous release upgrades in place, its data intact."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine

from bot.domain.models import CommentFilter
from bot.domain.periods import Period
from bot.domain.surveys import load_catalog
from storage.alerts import SqliteAlertStore
from storage.cases import SqliteCaseStore
from storage.database import (
    Database,
    migrations,
    newest_revision,
    to_db_time,
    upgrade_schema,
)
from storage.reports import SqliteReportStore
from storage.responses import SqliteResponseStore

# The last migration of the release before cases and daily totals.
PREVIOUS_RELEASE = 11
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def previous_release_database(path: Path) -> None:
    """The schema as release 11 left it, with a clinic's data in it.

    Two responses: one with an alert already posted to the staff chat (message 77), one
    with an alert still pending.
    """
    with sqlite3.connect(path) as connection:
        for number, _, sql in migrations():
            if number <= PREVIOUS_RELEASE:
                connection.executescript(f"{sql}\nPRAGMA user_version = {number};")
        at = to_db_time(NOW - timedelta(days=3))
        connection.execute(
            "INSERT INTO patients (id, external_id, pseudonym, consented_at) VALUES"
            " (1, 501, 'P-OLDONE01', ?), (2, 502, 'P-OLDTWO02', ?)",
            (at, at),
        )
        connection.execute(
            "INSERT INTO responses (id, patient_id, survey_id, status, started_at, completed_at)"
            " VALUES ('r1', 1, 'post_visit', 'completed', ?, ?),"
            " ('r2', 2, 'post_visit', 'in_progress', ?, NULL)",
            (at, at, at),
        )
        connection.executemany(
            "INSERT INTO answers (response_id, question_id, value_kind, value_int, answered_at)"
            " VALUES (?, ?, 'int', ?, ?)",
            [("r1", "csat", 1, at), ("r1", "nps", 2, at), ("r2", "csat", 2, at)],
        )
        connection.execute(
            "INSERT INTO alerts (response_id, reasons, created_at, version, delivered_version,"
            " staff_message_id) VALUES ('r1', 'low_csat,low_nps', ?, 2, 2, 77),"
            " ('r2', 'low_csat', ?, 1, 0, NULL)",
            (at, at),
        )


async def test_a_previous_release_database_migrates_in_place_and_keeps_everything(
    tmp_path: Path,
) -> None:
    path = tmp_path / "feedback.db"
    previous_release_database(path)
    database = await Database.open(path)
    try:
        assert await database.schema_version() == newest_revision()
        assert await database.integrity_check() == "ok"
        # The alerts staff had are still alerts, not open cases: staff dealt with them then.
        alerts = SqliteAlertStore(database)
        pending = await alerts.pending_alerts(None)
        assert [alert.response.id for alert in pending] == ["r2"]  # only the undelivered one
        assert not pending[0].case.is_case  # shown as it was, without case buttons
        cases = SqliteCaseStore(database)
        assert await cases.unclaimed_posted() == []  # not posted again as unclaimed
        assert await cases.open_cases() == []
        assert await cases.case_target(1) is None  # a forged Claim on it does nothing
        # Erasing the patient still blanks the staff message that showed their answers.
        responses = SqliteResponseStore(database)
        assert await responses.forget_patient(501, NOW)
        assert [r.message_id for r in await alerts.pending_redactions(None)] == [77]
        # The summary builds its daily totals from the old answers, and they agree.
        reports = SqliteReportStore(database)
        scores = load_catalog().score_questions()
        since = Period.DAYS_7.since(NOW)
        summary = await reports.summary(Period.DAYS_7, since, scores)
        assert summary == await reports.summary(Period.DAYS_7, since, scores, from_totals=False)
        assert (summary.started, summary.completed, summary.csat_count) == (1, 0, 1)
        assert summary.cases is None  # no case was opened: the old alerts are not counted
    finally:
        await database.close()


def sqlite_history(path: Path) -> None:
    """A file with SQLite's migrations 1 to 13, as they were before Alembic's revisions."""
    with closing(sqlite3.connect(path)) as connection, connection:
        for _, _, sql in migrations():
            connection.executescript(sql)
        connection.execute(f"PRAGMA user_version = {len(migrations())}")


async def test_a_database_of_the_release_before_postgresql_migrates_in_place(
    tmp_path: Path,
) -> None:
    # The schema of migration 13, as that release left it: no Alembic table yet.
    path = tmp_path / "feedback.db"
    sqlite_history(path)
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(
            "INSERT INTO patients (id, external_id, pseudonym, consented_at)"
            " VALUES (1, 501, 'P-OLDONE01', ?)",
            (to_db_time(NOW),),
        )
    database = await Database.open(path)
    try:
        assert await database.schema_version() == newest_revision()
        assert await database.integrity_check() == "ok"
        patient = await SqliteResponseStore(database).get_patient(501)
        assert patient is not None
        assert patient.pseudonym == "P-OLDONE01"
    finally:
        await database.close()


async def test_comments_and_visits_from_before_the_console_are_searched_and_broken_down(
    tmp_path: Path,
) -> None:
    # The schema of the release before the console's totals and search (revision 0016).
    path = tmp_path / "feedback.db"
    sqlite_history(path)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        upgrade_schema(connection, "0016")
    engine.dispose()
    at = to_db_time(NOW - timedelta(days=2))
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO patients (id, external_id, pseudonym, consented_at)"
            " VALUES (1, 501, 'P-OLDONE01', ?), (2, 502, 'P-OLDTWO02', ?)",
            (at, at),
        )
        connection.execute(
            "INSERT INTO visits (id, survey_id, treatment, provider, location, created_at)"
            " VALUES (1, 'post_visit', 'filler', 'Dr Li', 'Downtown', ?)",
            (at,),
        )
        connection.execute(
            "INSERT INTO responses (id, patient_id, survey_id, status, started_at, visit_id)"
            " VALUES ('r1', 1, 'post_visit', 'completed', ?, 1),"
            " ('r2', 2, 'post_visit', 'completed', ?, NULL)",
            (at, at),
        )
        connection.executemany(
            "INSERT INTO answers (response_id, question_id, value_kind, value_int, value_text,"
            " answered_at, sentiment_label) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                ("r1", "csat", "int", 2, None, at, None),
                ("r1", "comment", "text", None, "Bruising for a week", at, "negative"),
                ("r2", "csat", "int", 5, None, at, None),
                ("r2", "comment", "text", None, "Lovely staff", at, "positive"),
            ],
        )
    database = await Database.open(path)
    try:
        assert await database.schema_version() == newest_revision()
        reports = SqliteReportStore(database)
        found = await reports.comments(CommentFilter(words=("bruising",)), 50, 0, count_up_to=9)
        assert [comment.text for comment in found.comments] == ["Bruising for a week"]
        scores = load_catalog().score_questions()
        since = Period.DAYS_7.since(NOW)
        groups = await reports.visit_groups(since, scores)
        assert groups == await reports.visit_groups(since, scores, from_totals=False)
        assert {(g.provider, g.responses, g.csat_count, g.csat_sum) for g in groups} == {
            ("Dr Li", 1, 1, 2),
            (None, 1, 1, 5),
        }
    finally:
        await database.close()
