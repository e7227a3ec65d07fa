-- Patients who agreed to give feedback. external_id is the Telegram user id; staff and
-- exports only ever see the pseudonym.
CREATE TABLE patients (
    id           INTEGER PRIMARY KEY,
    external_id  INTEGER NOT NULL UNIQUE,
    pseudonym    TEXT    NOT NULL UNIQUE,
    consented_at TEXT    NOT NULL
);

CREATE TABLE responses (
    id           TEXT PRIMARY KEY,
    patient_id   INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    survey_id    TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('in_progress', 'completed', 'abandoned')),
    started_at   TEXT    NOT NULL,
    completed_at TEXT
);
-- A patient is in at most one survey at a time.
CREATE UNIQUE INDEX responses_one_open_per_patient
    ON responses (patient_id) WHERE status = 'in_progress';
CREATE INDEX responses_by_start ON responses (started_at, status);

-- value_kind says which column holds the value: 'int', 'bool' (value_int 0/1), 'text', or
-- 'skipped' (no value).
CREATE TABLE answers (
    response_id     TEXT    NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    question_id     TEXT    NOT NULL,
    value_kind      TEXT    NOT NULL CHECK (value_kind IN ('int', 'bool', 'text', 'skipped')),
    value_int       INTEGER,
    value_text      TEXT,
    answered_at     TEXT    NOT NULL,
    polarity        REAL,
    sentiment_label TEXT CHECK (sentiment_label IN ('negative', 'neutral', 'positive')),
    topics          TEXT,
    PRIMARY KEY (response_id, question_id)
) WITHOUT ROWID;
-- The summary's score aggregates read only this index.
CREATE INDEX answers_scores ON answers (question_id, answered_at, value_int);
CREATE INDEX answers_sentiment ON answers (sentiment_label, answered_at);

-- One row per flagged response; version grows with every answer that changes it, and
-- delivered_version says which version staff have seen.
CREATE TABLE alerts (
    id                INTEGER PRIMARY KEY,
    response_id       TEXT    NOT NULL UNIQUE REFERENCES responses (id) ON DELETE CASCADE,
    reasons           TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1,
    delivered_version INTEGER NOT NULL DEFAULT 0,
    staff_message_id  INTEGER
);
CREATE INDEX alerts_pending ON alerts (id) WHERE version > delivered_version;

-- Telegram update ids already handled, so a redelivered update changes nothing.
CREATE TABLE handled_events (
    event_key  INTEGER PRIMARY KEY,
    handled_at TEXT NOT NULL
);
