-- The language a patient chose (NULL: follow their Telegram language).
ALTER TABLE patients ADD COLUMN language TEXT;

-- What a response is about. A row with a code is an invitation created by staff; a row
-- without one is a visit the patient described (the treatment they picked).
CREATE TABLE visits (
    id         INTEGER PRIMARY KEY,
    code       TEXT UNIQUE,
    survey_id  TEXT NOT NULL,
    treatment  TEXT,
    provider   TEXT,
    location   TEXT,
    visit_date TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    -- The patient who first opened the invitation; nobody else can use it.
    patient_id INTEGER REFERENCES patients (id) ON DELETE SET NULL,
    -- Set when a response started from the invitation completes: it is spent.
    used_at    TEXT
);
CREATE INDEX visits_by_creation ON visits (created_at);

ALTER TABLE responses ADD COLUMN visit_id INTEGER REFERENCES visits (id) ON DELETE SET NULL;
CREATE INDEX responses_by_visit ON responses (visit_id);
-- The summary's breakdowns read a period's responses with their visits from this index alone.
CREATE INDEX responses_for_breakdowns ON responses (started_at, visit_id, id);
