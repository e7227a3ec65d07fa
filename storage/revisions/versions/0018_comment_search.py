"""An index of the words in comments, for the console's search.

Finding a word in no comment read every comment: 2.1 s on a million answers with SQLite,
0.5 s with PostgreSQL (benchmarks/console_speed.py). Both backends index trigrams, which find
a word anywhere in a comment, as the search always has:

- SQLite: an FTS5 table with the trigram tokenizer, contentless (the text stays in `answers`
  alone) and `comment_keys` mapping its rows to answers; triggers on `answers` keep them, so
  every writer (the bot, `copy-db`, a hand-made fix) does.
- PostgreSQL: a GIN index of `pg_trgm`'s trigrams on `answers.value_text`. Creating the
  extension needs the database owner's right (pg_trgm is a trusted extension); where it is
  refused, the search works without the index, slower, and the log says so.
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Statement by statement: the triggers' bodies hold semicolons of their own.
_SQLITE = (
    """
CREATE TABLE comment_keys (
    id INTEGER PRIMARY KEY,
    response_id TEXT NOT NULL,
    question_id TEXT NOT NULL,
    UNIQUE (response_id, question_id)
)
""",
    """
CREATE VIRTUAL TABLE comment_search USING fts5(body, content='', tokenize='trigram')
""",
    """
INSERT INTO comment_keys (response_id, question_id)
    SELECT response_id, question_id FROM answers
    WHERE value_kind = 'text' AND value_text IS NOT NULL
""",
    """
INSERT INTO comment_search (rowid, body)
    SELECT comment_keys.id, answers.value_text FROM comment_keys JOIN answers
    ON answers.response_id = comment_keys.response_id
    AND answers.question_id = comment_keys.question_id
""",
    """
CREATE TRIGGER comment_search_added AFTER INSERT ON answers
WHEN new.value_kind = 'text' AND new.value_text IS NOT NULL
BEGIN
    INSERT INTO comment_keys (response_id, question_id)
        VALUES (new.response_id, new.question_id);
    INSERT INTO comment_search (rowid, body) VALUES (last_insert_rowid(), new.value_text);
END
""",
    """
CREATE TRIGGER comment_search_removed AFTER DELETE ON answers
WHEN old.value_kind = 'text' AND old.value_text IS NOT NULL
BEGIN
    INSERT INTO comment_search (comment_search, rowid, body) VALUES (
        'delete',
        (SELECT id FROM comment_keys
            WHERE response_id = old.response_id AND question_id = old.question_id),
        old.value_text
    );
    DELETE FROM comment_keys
        WHERE response_id = old.response_id AND question_id = old.question_id;
END
""",
    """
CREATE TRIGGER comment_search_changed AFTER UPDATE OF value_kind, value_text ON answers
BEGIN
    INSERT INTO comment_search (comment_search, rowid, body) SELECT
        'delete', id, old.value_text FROM comment_keys
        WHERE response_id = old.response_id AND question_id = old.question_id
        AND old.value_kind = 'text' AND old.value_text IS NOT NULL;
    DELETE FROM comment_keys
        WHERE response_id = old.response_id AND question_id = old.question_id;
    INSERT INTO comment_keys (response_id, question_id)
        SELECT new.response_id, new.question_id
        WHERE new.value_kind = 'text' AND new.value_text IS NOT NULL;
    INSERT INTO comment_search (rowid, body)
        SELECT last_insert_rowid(), new.value_text
        WHERE new.value_kind = 'text' AND new.value_text IS NOT NULL;
END
""",
)


def upgrade() -> None:
    """Create the index of comments' trigrams."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _SQLITE:
            op.execute(statement)
        return
    try:
        with bind.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError:
        logging.getLogger(__name__).warning(
            "pg_trgm could not be created (the database owner may run CREATE EXTENSION"
            " pg_trgm): the console's search for words works without its index, slower"
        )
        return
    op.execute(
        "CREATE INDEX answers_text_search ON answers USING gin (value_text gin_trgm_ops)"
        " WHERE value_kind = 'text'"
    )
