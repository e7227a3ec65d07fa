-- Updates as Telegram delivered them, stored before Telegram is told they arrived (the next
-- getUpdates offset), so that one fetched just before a crash is handled after the restart.
-- A row goes once its update is handled: it holds patient text.
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,
    received_at TEXT    NOT NULL,
    body        TEXT    NOT NULL
);
