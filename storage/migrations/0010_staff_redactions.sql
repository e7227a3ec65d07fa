-- Staff messages that showed a patient's answers after the patient asked to be forgotten
-- (or retention deleted them): each is edited to say so, from this outbox, which the
-- deletion fills in its own transaction. Only message ids: nothing about the patient.
CREATE TABLE staff_redactions (
    message_id      INTEGER PRIMARY KEY,
    created_at      TEXT    NOT NULL,
    next_attempt_at TEXT    NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0
);
