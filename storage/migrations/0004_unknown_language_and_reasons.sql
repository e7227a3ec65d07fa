-- Text in a language the scorer does not read is labelled 'unknown', not neutral, and the
-- words or rules behind a score are kept for staff. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with the same rows and indexes.
CREATE TABLE answers_new (
    response_id     TEXT    NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    question_id     TEXT    NOT NULL,
    value_kind      TEXT    NOT NULL CHECK (value_kind IN ('int', 'bool', 'text', 'skipped')),
    value_int       INTEGER,
    value_text      TEXT,
    answered_at     TEXT    NOT NULL,
    polarity        REAL,
    sentiment_label TEXT CHECK (sentiment_label IN ('negative', 'neutral', 'positive', 'unknown')),
    topics          TEXT,
    reasons         TEXT,
    PRIMARY KEY (response_id, question_id)
) WITHOUT ROWID;
INSERT INTO answers_new (response_id, question_id, value_kind, value_int, value_text,
                         answered_at, polarity, sentiment_label, topics)
    SELECT response_id, question_id, value_kind, value_int, value_text, answered_at,
           polarity, sentiment_label, topics
    FROM answers;
DROP TABLE answers;
ALTER TABLE answers_new RENAME TO answers;
CREATE INDEX answers_scores ON answers (question_id, answered_at, value_int);
CREATE INDEX answers_sentiment ON answers (sentiment_label, answered_at);
