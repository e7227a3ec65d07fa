-- Messages the bot owes a patient besides the next question (the advice after a possible
-- complication, the thanks at the end, the review invitation). Written in the transaction
-- of the answer that makes them owed and deleted once delivered, so a fault or a crash in
-- between cannot lose them. They go with the response (retention, /forget).
CREATE TABLE patient_notices (
    id              INTEGER PRIMARY KEY,
    response_id     TEXT    NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    next_attempt_at TEXT    NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX patient_notices_due ON patient_notices (next_attempt_at);
CREATE INDEX patient_notices_response ON patient_notices (response_id);
