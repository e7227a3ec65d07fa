"""Domain models and pure rules: no Telegram, no SQL."""
