-- Follow-up surveys weeks after a visit. A row is scheduled when its source survey is
-- completed, in the same transaction, so no follow-up is ever lost to a crash.
--   scheduled -> sending -> sent -> (reminded) -> answered | expired
--   scheduled -> expired (not sendable in time) | stopped (/stop) | blocked (403)
CREATE TABLE followups (
    id                 INTEGER PRIMARY KEY,
    patient_id         INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    source_response_id TEXT REFERENCES responses (id) ON DELETE SET NULL,
    survey_id          TEXT    NOT NULL,
    visit_id           INTEGER REFERENCES visits (id) ON DELETE SET NULL,
    due_at             TEXT    NOT NULL,
    expires_at         TEXT    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN (
        'scheduled', 'sending', 'sent', 'reminded', 'answered', 'expired', 'stopped', 'blocked'
    )),
    -- Chosen when sending starts, so the message's buttons can name it; the row in
    -- responses is written once Telegram has taken the message.
    response_id        TEXT,
    sent_at            TEXT,
    reminded_at        TEXT,
    attempts           INTEGER NOT NULL DEFAULT 0,
    retry_at           TEXT,
    UNIQUE (source_response_id, survey_id)
);
CREATE INDEX followups_due ON followups (status, due_at);
CREATE INDEX followups_by_response ON followups (response_id);

-- When the patient last got a follow-up message (the weekly cap), asked for none (/stop),
-- or turned out to have blocked the bot (403 Forbidden).
ALTER TABLE patients ADD COLUMN last_followup_at TEXT;
ALTER TABLE patients ADD COLUMN followups_stopped_at TEXT;
ALTER TABLE patients ADD COLUMN blocked_at TEXT;
