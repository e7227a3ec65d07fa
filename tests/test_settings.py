"""Settings are read from FEEDBACK_* variables; mistakes are named, secrets never shown."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.env import ENV_PREFIX
from bot.logs import RedactSecrets
from bot.settings import (
    Settings,
    SettingsError,
    load_settings,
)

TOKEN = "123456:AAE-secret_token_value"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("FEEDBACK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # away from any .env in the repository


def test_defaults_follow_the_contract() -> None:
    settings = load_settings()
    assert str(settings.api_url) == "https://api.telegram.org/bot"
    assert str(settings.db) == "feedback.db"
    assert settings.admins == frozenset()
    assert settings.staff_chat is None
    assert settings.surveys is None


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("FEEDBACK_ADMINS", "11, 22,33")
    monkeypatch.setenv("FEEDBACK_STAFF_CHAT", "-1001234")
    monkeypatch.setenv("FEEDBACK_REVIEW_URL", "https://g.page/r/x/review")
    settings = load_settings()
    assert settings.token() == TOKEN
    assert settings.admins == frozenset({11, 22, 33})
    assert settings.staff_chat == -1001234
    assert str(settings.review_url) == "https://g.page/r/x/review"


def test_a_dotenv_file_is_read() -> None:
    Path(".env").write_text("FEEDBACK_CLINIC_NAME=Glow Aesthetics\n", "utf-8")
    assert load_settings().clinic_name == "Glow Aesthetics"


def test_every_wrong_setting_is_named_and_the_token_never_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEEDBACK_BOT_TOKEN", "not a token secretvalue")
    monkeypatch.setenv("FEEDBACK_ADMINS", "alice,22")
    monkeypatch.setenv("FEEDBACK_STAFF_CHAT", "staff")
    monkeypatch.setenv("FEEDBACK_REVIEW_URL", "not a url")
    with pytest.raises(SettingsError) as error:
        load_settings()
    problems = error.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "FEEDBACK_BOT_TOKEN",
        "FEEDBACK_ADMINS",
        "FEEDBACK_STAFF_CHAT",
        "FEEDBACK_REVIEW_URL",
    ]
    assert "secretvalue" not in str(error.value)


def test_running_needs_a_token() -> None:
    with pytest.raises(SettingsError, match="FEEDBACK_BOT_TOKEN: required"):
        load_settings().token()


def test_the_token_is_redacted_from_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactSecrets([TOKEN]))
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
    assert TOKEN not in caplog.text
    assert "bot[REDACTED]/getMe" in caplog.text


def test_follow_up_times_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_TIMEZONE", "Mars/Olympus_Mons")
    monkeypatch.setenv("FEEDBACK_SEND_HOURS", "9-5")
    monkeypatch.setenv("FEEDBACK_SEND_RATE", "45")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert [p.split(":")[0] for p in error.value.problems] == [
        "FEEDBACK_TIMEZONE",
        "FEEDBACK_SEND_HOURS",
        "FEEDBACK_SEND_RATE",
    ]
    assert "IANA time zone" in str(error.value)
    assert "09:00-20:00" in str(error.value)


def test_send_hours_in_the_clinics_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_TIMEZONE", "Europe/Madrid")
    monkeypatch.setenv("FEEDBACK_SEND_HOURS", "22:00-06:00")  # a night shift clinic
    hours = load_settings().followup_policy().send_hours
    assert hours.allows(datetime(2026, 11, 29, 22, 30, tzinfo=UTC))  # 23:30 in Madrid
    assert not hours.allows(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    assert hours.allows(datetime(2026, 11, 30, 4, 59, tzinfo=UTC))  # 05:59 in Madrid
    assert not hours.allows(datetime(2026, 11, 30, 5, 0, tzinfo=UTC))


def test_the_example_env_file_works_as_shipped_and_documents_every_setting() -> None:
    example = Path(__file__).resolve().parent.parent / ".env.example"
    Path(".env").write_text(example.read_text("utf-8"), "utf-8")
    settings = load_settings()
    assert settings.token().startswith("123456789:")
    assert settings.staff_chat is None
    documented = {
        line.split("=", 1)[0].removeprefix(ENV_PREFIX).lower()
        for line in example.read_text("utf-8").splitlines()
        if line.startswith(ENV_PREFIX)
    }
    # FEEDBACK_TEST_NOW is for tests only: docs/development.md has it.
    assert documented == set(Settings.model_fields) - {"test_now"}


def test_webhook_settings_are_checked_and_the_secret_never_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEEDBACK_WEBHOOK_URL", "http://bot.example.org/hook")
    monkeypatch.setenv("FEEDBACK_WEBHOOK_SECRET", "short secretvalue")
    monkeypatch.setenv("FEEDBACK_WEBHOOK_LISTEN", "8080")
    with pytest.raises(SettingsError) as error:
        load_settings()
    problems = error.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "FEEDBACK_WEBHOOK_URL",
        "FEEDBACK_WEBHOOK_SECRET",
        "FEEDBACK_WEBHOOK_LISTEN",
    ]
    assert "https://" in problems[0]
    assert "secretvalue" not in str(error.value)


def test_intake_api_tokens_are_checked_never_echoed_and_need_a_listener(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    long_token, short_token = "t" * 40, "short-token-value"
    monkeypatch.setenv("FEEDBACK_API_TOKENS", f"{long_token}, {short_token}")
    monkeypatch.setenv("FEEDBACK_HTTP_LISTEN", "127.0.0.1:8081")
    with pytest.raises(SettingsError) as error:
        load_settings()
    [problem] = error.value.problems
    assert problem.startswith("FEEDBACK_API_TOKENS: must be tokens of at least 32 characters")
    assert short_token not in str(error.value)
    assert long_token not in str(error.value)
    monkeypatch.setenv("FEEDBACK_API_TOKENS", long_token)
    monkeypatch.setenv("FEEDBACK_HTTP_LISTEN", "")
    with pytest.raises(SettingsError, match="nothing serves the intake API"):
        load_settings()
    monkeypatch.setenv("FEEDBACK_API_TOKENS", "")
    monkeypatch.setenv("FEEDBACK_MINDBODY_SIGNATURE_KEY", "mindbody-key-0123456789")
    with pytest.raises(SettingsError, match="FEEDBACK_MINDBODY_SIGNATURE_KEY is set but nothing"):
        load_settings()
    monkeypatch.setenv("FEEDBACK_API_TOKENS", long_token)
    monkeypatch.setenv("FEEDBACK_HTTP_LISTEN", "127.0.0.1:8081")
    settings = load_settings()
    assert [token.get_secret_value() for token in settings.api_tokens] == [long_token]
    assert settings.intake_address() == ("127.0.0.1", 8081)
    # Webhook mode serves the API beside the webhook: a second address is a mistake.
    monkeypatch.setenv("FEEDBACK_WEBHOOK_URL", "https://bot.example.org/hook")
    monkeypatch.setenv("FEEDBACK_WEBHOOK_SECRET", "a" * 32)
    with pytest.raises(SettingsError, match="FEEDBACK_HTTP_LISTEN is for long polling"):
        load_settings()


def test_a_webhook_needs_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_WEBHOOK_URL", "https://bot.example.org/hook")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "FEEDBACK_WEBHOOK_SECRET is required" in str(error.value)
    monkeypatch.setenv("FEEDBACK_WEBHOOK_SECRET", "a" * 32)
    monkeypatch.setenv("FEEDBACK_WEBHOOK_LISTEN", "[::1]:9000")
    settings = load_settings()
    assert settings.listen_address() == ("::1", 9000)


@pytest.mark.parametrize(
    ("given", "path"),
    [
        ("feedback.db", "feedback.db"),
        ("sqlite:///feedback.db", "feedback.db"),
        ("sqlite:////var/lib/feedback/feedback.db", "/var/lib/feedback/feedback.db"),
    ],
)
def test_the_database_is_a_path_or_a_sqlite_url(
    monkeypatch: pytest.MonkeyPatch, given: str, path: str
) -> None:
    monkeypatch.setenv("FEEDBACK_DB", given)
    assert load_settings().db == Path(path)


def test_a_postgresql_url_names_a_postgresql_database_not_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FEEDBACK_DB", "postgresql://clinic@db.internal/feedback")
    assert load_settings().db == "postgresql://clinic@db.internal/feedback"
    assert list(tmp_path.iterdir()) == []  # no file called "postgresql:" was made


@pytest.mark.parametrize("given", ["mysql://clinic@db/feedback", "postgresql://"])
def test_another_database_address_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, given: str
) -> None:
    monkeypatch.setenv("FEEDBACK_DB", given)
    with pytest.raises(SettingsError) as error:
        load_settings()
    [problem] = error.value.problems
    assert problem.startswith("FEEDBACK_DB: ")
    assert "postgresql://user@host/name" in problem
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.glow.example", ("mail.glow.example", 587, False, None, None)),
        ("smtp://relay:25", ("relay", 25, False, None, None)),
        (
            "smtps://desk%40glow.example:p%40ss@mail.glow.example",
            ("mail.glow.example", 465, True, "desk@glow.example", "p@ss"),
        ),
    ],
)
def test_the_smtp_url_gives_server_port_tls_and_login(
    monkeypatch: pytest.MonkeyPatch, url: str, expected: tuple[object, ...]
) -> None:
    monkeypatch.setenv("FEEDBACK_SMTP_URL", url)
    monkeypatch.setenv("FEEDBACK_MAIL_FROM", "feedback@glow.example")
    server = load_settings().smtp_server()
    assert server is not None
    assert (
        server.host,
        server.port,
        server.implicit_tls,
        server.username,
        server.password,
    ) == expected
    assert "p@ss" not in repr(server)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://user:hunter22@mail.example", "must start with smtp:// or smtps://"),
        ("smtp://user:hunter22@mail.example:99999", "has a port that is not a number"),
        ("smtp://user:hunter22@", "must name the server"),
    ],
)
def test_a_wrong_smtp_url_is_named_and_its_password_never_echoed(
    monkeypatch: pytest.MonkeyPatch, url: str, problem: str
) -> None:
    monkeypatch.setenv("FEEDBACK_SMTP_URL", url)
    monkeypatch.setenv("FEEDBACK_MAIL_FROM", "feedback@glow.example")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert error.value.problems[0].startswith(f"FEEDBACK_SMTP_URL: {problem}")
    assert "hunter22" not in str(error.value)


def test_e_mail_needs_both_the_server_and_the_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_SMTP_URL", "smtp://mail.glow.example")
    with pytest.raises(SettingsError, match="FEEDBACK_MAIL_FROM is not"):
        load_settings()
    monkeypatch.delenv("FEEDBACK_SMTP_URL")
    monkeypatch.setenv("FEEDBACK_MAIL_FROM", "feedback@glow.example")
    with pytest.raises(SettingsError, match="FEEDBACK_SMTP_URL is not"):
        load_settings()
