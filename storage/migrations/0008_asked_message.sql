-- The Telegram message that asked the question last delivered. In a private chat Telegram
-- numbers the patient's messages and the bot's in one sequence, so a reply numbered lower
-- was sent before the question existed and cannot be its answer (a number typed again
-- while the bot was down, or while its next question was on its way).
ALTER TABLE responses ADD COLUMN asked_message_id INTEGER;
