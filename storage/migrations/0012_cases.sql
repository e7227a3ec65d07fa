-- Every alert is a case that staff close: who took it, when staff first answered the
-- patient, who resolved it and with what note. Staff are shown by the name they show in
-- Telegram; the id of who took a case only tells the bot whether "you" took it.
ALTER TABLE alerts ADD COLUMN claimed_by INTEGER;
ALTER TABLE alerts ADD COLUMN claimed_by_name TEXT;
ALTER TABLE alerts ADD COLUMN claimed_at TEXT;
ALTER TABLE alerts ADD COLUMN first_reply_at TEXT;
ALTER TABLE alerts ADD COLUMN resolved_by_name TEXT;
ALTER TABLE alerts ADD COLUMN resolved_at TEXT;
ALTER TABLE alerts ADD COLUMN resolution_note TEXT;
-- When the alert became a case. Alerts from before cases existed keep NULL: staff dealt
-- with them as they could then, so they are not listed as open, counted in the summary's
-- cases or posted again (an upgrade must not flood the staff chat with old alerts).
ALTER TABLE alerts ADD COLUMN case_opened_at TEXT;
-- When a case nobody claimed was posted again.
ALTER TABLE alerts ADD COLUMN escalated_at TEXT;
-- Set when a staff reply reaches the patient: their next message goes to staff, not to a
-- survey question.
ALTER TABLE alerts ADD COLUMN awaiting_patient INTEGER NOT NULL DEFAULT 0;
-- A number the patient shared with Telegram's own "share my phone number" button, asking to
-- be called; it goes with the alert (and so with /forget and retention).
ALTER TABLE alerts ADD COLUMN callback_phone TEXT;
CREATE INDEX alerts_open ON alerts (case_opened_at)
    WHERE resolved_at IS NULL AND case_opened_at IS NOT NULL;
-- The summary's case figures read the cases opened in a period.
CREATE INDEX alerts_by_case_opening ON alerts (case_opened_at) WHERE case_opened_at IS NOT NULL;

-- A case's conversation, both ways. Replies to the patient are delivered from
-- patient_notices (which points here); the patient's messages are posted to the staff chat
-- by the alert outbox, as replies to the alert.
CREATE TABLE case_messages (
    id               INTEGER PRIMARY KEY,
    alert_id         INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    direction        TEXT    NOT NULL CHECK (direction IN ('to_patient', 'from_patient')),
    body             TEXT    NOT NULL,
    author_name      TEXT,
    created_at       TEXT    NOT NULL,
    delivered_at     TEXT,
    failed           INTEGER NOT NULL DEFAULT 0,
    staff_message_id INTEGER,
    next_attempt_at  TEXT,
    failed_attempts  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX case_messages_alert ON case_messages (alert_id);
CREATE INDEX case_messages_to_staff ON case_messages (id)
    WHERE direction = 'from_patient' AND delivered_at IS NULL;

ALTER TABLE patient_notices ADD COLUMN case_message_id INTEGER
    REFERENCES case_messages (id) ON DELETE CASCADE;

-- Every staff-chat message that belongs to a case (the alert and its reposts, the
-- patient's relayed messages, the bot's prompts): a reply to any of them is about that
-- case (to the prompt after Resolve, it is the note), and those showing patient data are
-- blanked when the patient is erased.
CREATE TABLE case_staff_messages (
    message_id INTEGER PRIMARY KEY,
    alert_id   INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('alert', 'patient', 'prompt', 'note'))
);
CREATE INDEX case_staff_messages_alert ON case_staff_messages (alert_id);

-- What a staff member's next message in the staff chat is for, after they tapped Reply
-- (the reply) or Resolve (the note).
CREATE TABLE staff_intents (
    user_id    INTEGER PRIMARY KEY,
    alert_id   INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('reply', 'note')),
    created_at TEXT    NOT NULL
);
