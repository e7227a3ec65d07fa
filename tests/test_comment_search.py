"""The console's search finds a word anywhere in a comment, by its index or without it.

SQLite looks a word up in its index of trigrams (FTS5, kept by triggers on `answers`) when
the index finds few comments, and reads the newest comments otherwise; PostgreSQL's planner
uses its trigram index by itself. Every way must find the same comments, and a forgotten
patient's words must leave the index too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.domain.models import Answer, AnswerCommit, CommentFilter, Sentiment, SentimentLabel
from storage.database import Database
from storage.reports import SqliteReportStore
from storage.responses import SqliteResponseStore

NOW = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)
COMMENTS = [
    "Terrible bruising after the filler",
    "No BRUISE at all, lovely staff",
    "Got 50%_off, great deal",
    "ok",
    "Quedé muy contenta con la doctora",
    "Bruised a little; staff were lovely",
]


@pytest.fixture
async def database(database_location: Path | str) -> AsyncIterator[Database]:
    """A database holding each comment above, one patient each, a minute apart."""
    opened = await Database.open(database_location)
    store = SqliteResponseStore(opened)
    for n, comment in enumerate(COMMENTS):
        at = NOW + timedelta(minutes=n)
        patient = await store.add_patient(500 + n, at)
        response = await store.start_response(patient.id, "post_visit", at)
        answer = Answer("comment", comment, at, Sentiment(0.0, SentimentLabel.NEUTRAL, (), ()))
        await store.commit_answer(AnswerCommit(response.id, answer, True, (), dedup_key=None))
    yield opened
    await opened.close()


async def found(store: SqliteReportStore, *words: str) -> list[str]:
    page = await store.comments(CommentFilter(words=words), 50, 0, count_up_to=1000)
    assert page.total == len(page.comments)
    return [comment.text for comment in page.comments]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (("bruis",), [COMMENTS[5], COMMENTS[1], COMMENTS[0]]),  # any case, inside a word
        (("bruise",), [COMMENTS[5], COMMENTS[1]]),
        (("BRUISED", "lovely"), [COMMENTS[5]]),
        (("50%_off",), [COMMENTS[2]]),  # `%` and `_` as typed
        (("%",), [COMMENTS[2]]),  # under three letters: not in the index
        (("ok",), [COMMENTS[3]]),
        (("contenta",), [COMMENTS[4]]),
        (("doctor", "Quedé"), [COMMENTS[4]]),
        (('"lovely', "staff"), []),  # a quote is a letter to look for, not the index's syntax
        (("nowhere",), []),
    ],
)
async def test_a_word_is_found_anywhere_in_a_comment_by_the_index_or_without_it(
    database: Database, words: tuple[str, ...], expected: list[str]
) -> None:
    by_index = SqliteReportStore(database)
    # An index that finds more than none is "too many" here: the newest comments are read.
    without_index = SqliteReportStore(database, few_comments=0)
    assert await found(by_index, *words) == expected
    assert await found(without_index, *words) == expected


async def test_a_forgotten_patients_words_leave_the_index_of_comments(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "feedback.db")
    store = SqliteResponseStore(database)
    for n, comment in enumerate(["Xylophone-shaped swelling", "Lovely staff"]):
        patient = await store.add_patient(600 + n, NOW)
        response = await store.start_response(patient.id, "post_visit", NOW)
        answer = Answer("comment", comment, NOW, Sentiment(0.0, SentimentLabel.NEUTRAL, (), ()))
        await store.commit_answer(AnswerCommit(response.id, answer, True, (), dedup_key=None))
    reports = SqliteReportStore(database)
    assert await found(reports, "xylophone") == ["Xylophone-shaped swelling"]

    async def stored_index() -> bytes:
        """The index's pages as FTS5 writes them (a term is stored whole at least once)."""
        rows = await database.connection.rows(text("SELECT block FROM comment_search_data"))
        return b"".join(bytes(row[0]) for row in rows if row[0] is not None)

    assert b"xyl" in await stored_index()
    await store.forget_patient(600, NOW)
    assert await found(reports, "xylophone") == []
    # Merged away, not only marked deleted: FTS5 keeps a marked term's rows until then.
    assert b"xyl" not in await stored_index()
    assert b"lov" in await stored_index()
    await database.close()


async def test_a_comment_changed_by_hand_is_found_by_its_new_words(database: Database) -> None:
    async with database.transaction() as conn:
        await conn.run(
            text("UPDATE answers SET value_text = 'Swollen for a week' WHERE value_text = 'ok'")
        )
    reports = SqliteReportStore(database)
    assert await found(reports, "swollen") == ["Swollen for a week"]
    assert await found(reports, "ok") == []
