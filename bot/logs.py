"""Logging set-up that keeps the bot token out of every log line."""

from __future__ import annotations

import logging


class RedactSecrets(logging.Filter):
    """Replaces secrets in formatted log messages (the token sits in every Bot API URL)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with the secrets masked."""
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, "[REDACTED]")
            record.msg, record.args = message, None
        return True


def configure_logging(level: str, secrets: list[str]) -> None:
    """Log to stderr at `level`, with secrets redacted and httpx's request lines muted."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and the URL contains the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # At DEBUG, python-telegram-bot logs every update and Bot API call in full (patient
    # text, user ids, invitation codes) and aiosqlite every row it returns: never below INFO,
    # whatever FEEDBACK_LOG_LEVEL says. The bot's own DEBUG lines carry no patient data.
    for chatty in LIBRARIES_WITH_PATIENT_DATA_AT_DEBUG:
        logging.getLogger(chatty).setLevel(max(logging.INFO, root.level))
    # SQLAlchemy logs every statement with its values (patient text) at INFO already.
    for chatty in LIBRARIES_WITH_PATIENT_DATA_AT_INFO:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))


# aiosmtplib logs nothing today; patients' addresses pass through it, so it is held too.
LIBRARIES_WITH_PATIENT_DATA_AT_DEBUG = ("telegram", "aiosqlite", "asyncpg", "aiosmtplib")
LIBRARIES_WITH_PATIENT_DATA_AT_INFO = ("sqlalchemy",)
