"""Settings from `FEEDBACK_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.intake import EMAIL_PATTERN, DeliveryRules
from bot.domain.mail import SmtpServer
from bot.domain.models import AlertDetail
from bot.domain.roles import Roster
from bot.domain.schedule import FollowupPolicy, SendHours
from bot.env import ENV_PREFIX
from bot.keyfile import KeyFileError, read_key

# The token .env.example ships with: the right shape, and never a real bot's.
PLACEHOLDER_TOKEN = "123456789:replace-with-your-token"  # noqa: S105 - a known non-secret
# ...and every other placeholder the documentation shows (the README's quick start).
PLACEHOLDER_TOKENS = frozenset({PLACEHOLDER_TOKEN, "123456789:your-token"})
DEFAULT_API_URL = "https://api.telegram.org/bot"


class Settings(BaseSettings):
    """Everything an operator can configure. See `.env.example` for each setting."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    bot_token: SecretStr | None = None
    api_url: HttpUrl = HttpUrl(DEFAULT_API_URL)
    db: Path | str = Path("feedback.db")
    """A SQLite file (a `Path`), or a PostgreSQL address (`postgresql://...`, a `str`)."""
    db_key_file: Path | None = None
    """The SQLite file's key (SQLCipher): a file only the bot's user may read."""
    admins: Annotated[frozenset[int], NoDecode] = frozenset()
    staff: Annotated[frozenset[int], NoDecode] = frozenset()
    """Team members who work cases and read summaries, but neither export nor audit."""
    staff_chat: int | None = None
    surveys: Path | None = None
    review_url: HttpUrl | None = None
    clinic_name: str | None = Field(default=None, min_length=1, max_length=100)
    alert_csat_at_most: int = Field(default=2, ge=0, le=5)
    alert_nps_at_most: int = Field(default=6, ge=-1, le=10)
    sentiment_negative_below: float = Field(default=-0.05, ge=-1, le=1)
    sentiment_positive_above: float = Field(default=0.05, ge=-1, le=1)
    invitation_days: int = Field(default=14, ge=1, le=365)
    bot_username: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
    timezone: str = "UTC"
    send_hours: str = "09:00-20:00"
    followup_gap_days: int = Field(default=7, ge=1, le=90)
    followup_reminder_days: int = Field(default=7, ge=1, le=90)
    followup_window_days: int = Field(default=14, ge=1, le=180)
    followup_check_seconds: float = Field(default=60, gt=0, le=3600)
    alert_check_seconds: float = Field(default=5, gt=0, le=300)
    case_escalate_hours: float = Field(default=4, gt=0, le=168)
    alert_detail: AlertDetail = AlertDetail.FULL
    """`minimal`: the staff group reads no patient's words nor phone number (Details)."""
    startup_wait_seconds: float = Field(default=120, ge=0, le=3600)
    send_rate: float = Field(default=28, gt=0, le=30)
    retention_days: int = Field(default=730, ge=30, le=3650)
    audit_retention_days: int = Field(default=2190, ge=30, le=7300)
    """How long the audit trail keeps an entry: six years by default, as HIPAA asks."""
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    webhook_url: HttpUrl | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1:8080"
    http_listen: str | None = None
    """Where long-polling mode serves the intake API (webhook mode serves it beside the
    webhook, on `webhook_listen`)."""
    api_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    """Bearer tokens a booking system may call the intake API with (none: the API is off)."""
    mindbody_signature_key: SecretStr | None = None
    """The Mindbody webhook subscription's `messageSignatureKey` (none: the webhook is off)."""
    vagaro_verification_token: SecretStr | None = None
    """The verification token Vagaro shows for its webhook (none: the webhook is off)."""
    public_url: HttpUrl | None = None
    """The https origin Telegram opens the staff console at (default: the webhook's)."""
    console_session_hours: float = Field(default=24, gt=0, le=24 * 30)
    """How long a console sign-in by Telegram lasts."""
    invite_delay_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    """How long after an announced visit the bot asks about it (0: at once)."""
    survey_gap_days: int = Field(default=30, ge=0, le=365)
    """At most one visit survey per patient in this many days (0: no limit)."""
    smtp_url: SecretStr | None = None
    """`smtp://[user:password@]host[:port]` or `smtps://...`: e-mail invitations (a secret:
    it may hold a password)."""
    mail_from: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    """The address e-mail invitations come from (the clinic's name is shown with it)."""
    test_now: AwareDatetime | None = None
    """For tests only: the time the bot and the command line start from (ISO-8601, with an
    offset), so a process runs on the same calendar as the fake clock of the test that
    started it. Unset, the real clock."""

    @field_validator("admins", "staff", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(part.lstrip("-").isdigit() for part in parts):
                raise ValueError("must be Telegram user ids (numbers) separated by commas")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        bot_id, _, secret = value.get_secret_value().partition(":")
        if not (bot_id.isdigit() and secret and all(c.isalnum() or c in "_-" for c in secret)):
            # Never echo the value: it is a secret even when malformed.
            raise ValueError("must look like 123456789:ABC-def (the token from @BotFather)")
        return value

    @field_validator(
        "staff_chat",
        "clinic_name",
        "surveys",
        "review_url",
        "bot_username",
        "webhook_url",
        "webhook_secret",
        "http_listen",
        "mindbody_signature_key",
        "vagaro_verification_token",
        "smtp_url",
        "mail_from",
        "public_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().removeprefix("@")
        return None if value == "" else value

    @field_validator("webhook_url")
    @classmethod
    def _https_only(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is not None and value.scheme != "https":
            raise ValueError("must be an https:// URL (Telegram calls webhooks over TLS only)")
        return value

    @field_validator("public_url")
    @classmethod
    def _https_origin(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is None:
            return None
        if value.scheme != "https":
            raise ValueError("must be an https:// address (Telegram opens Mini Apps on TLS only)")
        if value.path not in {None, "", "/"} or value.query or value.fragment:
            raise ValueError("must be an origin only, like https://feedback.example-clinic.org")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if not _WEBHOOK_SECRET.match(secret):
            # Never echo the value.
            raise ValueError(
                "must be 16 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule; "
                "for example the output of: openssl rand -hex 32)"
            )
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            SmtpServer.parse(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _mail_has_sender(self) -> Self:
        if self.smtp_url is not None and self.mail_from is None:
            raise ValueError(
                "FEEDBACK_SMTP_URL is set but FEEDBACK_MAIL_FROM is not: set the address "
                "e-mail invitations come from (one the SMTP server may send as)"
            )
        if self.mail_from is not None and self.smtp_url is None:
            raise ValueError(
                "FEEDBACK_MAIL_FROM is set but FEEDBACK_SMTP_URL is not: e-mail invitations "
                "need the server that sends them"
            )
        return self

    @field_validator("webhook_listen", "http_listen")
    @classmethod
    def _listen_shape(cls, value: str | None) -> str | None:
        if value is not None:
            _host_and_port(value)
        return value

    @field_validator("api_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        tokens = tuple(part.strip() for part in value.split(",") if part.strip())
        if not all(_API_TOKEN.match(token) for token in tokens):
            # Never echo a value: it is a secret even when malformed.
            raise ValueError(
                "must be tokens of at least 32 characters of A-Z, a-z, 0-9, _ and -, separated "
                "by commas (for example the output of: openssl rand -hex 32)"
            )
        if len(set(tokens)) != len(tokens):
            raise ValueError("lists the same token twice")
        return tuple(SecretStr(token) for token in tokens)

    @model_validator(mode="after")
    def _api_is_served(self) -> Self:
        if self.webhook_url is not None and self.http_listen is not None:
            raise ValueError(
                "FEEDBACK_HTTP_LISTEN is for long polling: in webhook mode the intake API is "
                "served beside the webhook, on FEEDBACK_WEBHOOK_LISTEN; unset one of them"
            )
        if self.serves_intake and self.webhook_url is None and self.http_listen is None:
            named = (
                "FEEDBACK_API_TOKENS"
                if self.api_tokens
                else "FEEDBACK_MINDBODY_SIGNATURE_KEY"
                if self.mindbody_signature_key
                else "FEEDBACK_VAGARO_VERIFICATION_TOKEN"
            )
            raise ValueError(
                f"{named} is set but nothing serves the intake API: set "
                "FEEDBACK_HTTP_LISTEN (long polling) or FEEDBACK_WEBHOOK_URL (webhook mode)"
            )
        return self

    @field_validator("db", mode="before")
    @classmethod
    def _database_location(cls, value: object) -> object:
        # A path or a sqlite:/// URL is a SQLite file, a postgresql:// URL a PostgreSQL
        # database; anything else must not become a SQLite file named after it.
        if not isinstance(value, str):
            return value
        if "://" not in value:
            return Path(value)
        scheme, _, rest = value.partition("://")
        if scheme == "sqlite" and rest.startswith("/") and len(rest) > 1:
            return Path(rest[1:] if rest.startswith("//") else rest.removeprefix("/"))
        if scheme in ("postgresql", "postgres"):
            if not rest.strip("/"):
                raise ValueError("give the server and database: postgresql://user@host/name")
            return value
        raise ValueError(
            "must be a file path, sqlite:///path/to/feedback.db or postgresql://user@host/name"
        )

    @field_validator("send_hours")
    @classmethod
    def _hours_shape(cls, value: str) -> str:
        SendHours.parse(value, "UTC")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Europe/Madrid") from None
        return value

    @model_validator(mode="after")
    def _webhook_has_secret(self) -> Self:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError(
                "FEEDBACK_WEBHOOK_SECRET is required with FEEDBACK_WEBHOOK_URL: without it "
                "anyone who finds the URL could send the bot updates"
            )
        return self

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Self:
        if self.sentiment_negative_below > self.sentiment_positive_above:
            raise ValueError(
                "FEEDBACK_SENTIMENT_NEGATIVE_BELOW must not exceed "
                "FEEDBACK_SENTIMENT_POSITIVE_ABOVE"
            )
        return self

    def followup_policy(self) -> FollowupPolicy:
        """The follow-up manners these settings describe."""
        return FollowupPolicy(
            send_hours=SendHours.parse(self.send_hours, self.timezone),
            gap=timedelta(days=self.followup_gap_days),
            reminder_after=timedelta(days=self.followup_reminder_days),
            answer_window=timedelta(days=self.followup_window_days),
        )

    def delivery_rules(self) -> DeliveryRules:
        """How announced visits are asked about."""
        return DeliveryRules(
            invite_delay=timedelta(minutes=self.invite_delay_minutes),
            survey_gap=timedelta(days=self.survey_gap_days) if self.survey_gap_days else None,
            mails=self.smtp_url is not None,
        )

    def smtp_server(self) -> SmtpServer | None:
        """The SMTP server e-mail invitations go through, if one is set up."""
        if self.smtp_url is None:
            return None
        return SmtpServer.parse(self.smtp_url.get_secret_value())

    @property
    def serves_http(self) -> bool:
        """Whether the bot runs an HTTP server: the webhook's, or `FEEDBACK_HTTP_LISTEN`."""
        return self.webhook_url is not None or self.http_listen is not None

    def roster(self) -> Roster:
        """The clinic's team: admins, and staff who are not admins too."""
        return Roster(self.admins, self.staff - self.admins)

    def console_url(self) -> str | None:
        """Where Telegram opens the staff console, if it can: an https origin and a server."""
        if not self.serves_http:
            return None
        origin = self.public_url or self.webhook_url
        if origin is None:
            return None
        port = "" if origin.port in {None, 443} else f":{origin.port}"
        return f"https://{origin.host}{port}/console/"

    @property
    def serves_intake(self) -> bool:
        """Whether visits may come in: the intake API or a booking system's webhook."""
        return (
            bool(self.api_tokens)
            or self.mindbody_signature_key is not None
            or self.vagaro_verification_token is not None
        )

    def intake_address(self) -> tuple[str, int] | None:
        """Where long polling serves HTTP (the intake API, the console), if it does."""
        if self.http_listen is None or self.webhook_url is not None:
            return None
        return _host_and_port(self.http_listen)

    def listen_address(self) -> tuple[str, int]:
        """`FEEDBACK_WEBHOOK_LISTEN` as (host, port)."""
        return _host_and_port(self.webhook_listen)

    def db_key(self) -> str | None:
        """The database's key, from its file (`None`: not encrypted); `SettingsError` else."""
        if self.db_key_file is None:
            return None
        if not isinstance(self.db, Path):
            raise SettingsError(
                [f"{ENV_PREFIX}DB_KEY_FILE: for a SQLite file; encrypt PostgreSQL's volume"]
            )
        try:
            return read_key(self.db_key_file)
        except KeyFileError as error:
            raise SettingsError([f"{ENV_PREFIX}DB_KEY_FILE: {error}"]) from None

    def token(self) -> str:
        """The bot token; raises `SettingsError` if it is not set."""
        if self.bot_token is None:
            raise SettingsError([f"{ENV_PREFIX}BOT_TOKEN: required to run the bot"])
        return self.bot_token.get_secret_value()


# Telegram's own rule for secret_token is 1-256 characters; 16 is ours, so that it is not
# guessable.
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
_MAX_PORT = 65535
_API_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,512}$")


def _host_and_port(value: str) -> tuple[str, int]:
    host, colon, port = value.strip().rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) <= _MAX_PORT:
        raise ValueError("must be host:port, for example 127.0.0.1:8080")
    return host.strip("[]"), int(port)


class SettingsError(Exception):
    """Settings are missing or wrong; `problems` names each by its variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings() -> Settings:
    """Read the settings, turning validation errors into one message per variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            field = ".".join(str(part) for part in error["loc"])
            name = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        raise SettingsError(problems) from exc
