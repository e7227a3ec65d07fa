-- When the question last delivered reached the patient: a message sent before then cannot be
-- its answer (a number typed again while the bot was down, or its next question was late).
ALTER TABLE responses ADD COLUMN asked_at TEXT;
