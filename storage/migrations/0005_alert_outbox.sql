-- Alerts are an outbox, delivered by a background sender independent of any other message:
-- when the next attempt is due, how many failed in a row, and whether a send may have
-- reached the staff chat without the bot learning so (a timeout, or a crash between sending
-- and recording), which the next copy then says.
ALTER TABLE alerts ADD COLUMN next_attempt_at TEXT;
ALTER TABLE alerts ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN maybe_sent INTEGER NOT NULL DEFAULT 0;
