-- The question last delivered to the patient: a typed reply answers that question only, so
-- a reply to a question that never arrived (Telegram refused it, or the bot died after the
-- answer before it) is not taken as the answer to the next one.
ALTER TABLE responses ADD COLUMN asked_question TEXT;
