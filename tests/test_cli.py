"""The `feedback-bot` command, run as an operator would run it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.models import Answer, AnswerCommit, Sentiment, SentimentLabel
from bot.settings import PLACEHOLDER_TOKEN
from storage.database import Database
from storage.responses import SqliteResponseStore
from tests.fake_telegram import FakeTelegram
from tests.test_process import feedback_bot
from tests.test_trend import png_size

TOKEN = "123456:AAE-secret_token_value"
NOW = datetime.now(UTC)


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")}
    environment |= {"FEEDBACK_DB": str(tmp_path / "feedback.db")} | env
    return subprocess.run(
        [feedback_bot(), *args],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def made_by_the_bot(db: Path) -> None:
    """The database as the bot leaves it when it first runs: migrated, empty."""

    async def create() -> None:
        database = await Database.open(db)
        await database.close()

    asyncio.run(create())


async def populate(db: Path) -> None:
    database = await Database.open(db)
    store = SqliteResponseStore(database)
    try:
        rows = [
            (
                1,
                NOW - timedelta(days=60),
                5,
                10,
                "Lovely, natural result!",
                SentimentLabel.POSITIVE,
            ),
            (2, NOW - timedelta(days=2), 2, 3, '=HYPERLINK("http://x")', SentimentLabel.NEUTRAL),
            (3, NOW - timedelta(days=1), 4, None, None, None),
        ]
        for external_id, started, csat, nps, comment, label in rows:
            patient = await store.add_patient(external_id, started)
            response = await store.start_response(patient.id, "post_visit", started)
            answers = [Answer("csat", csat, started)]
            if nps is not None:
                answers.append(Answer("nps", nps, started))
            if comment is not None and label is not None:
                sentiment = Sentiment(0.5 if label is SentimentLabel.POSITIVE else 0.0, label)
                answers.append(Answer("comment", comment, started, sentiment))
            for index, item in enumerate(answers):
                completes = comment is not None and index == len(answers) - 1
                await store.commit_answer(AnswerCommit(response.id, item, completes, (), None))
    finally:
        await database.close()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    asyncio.run(populate(tmp_path / "feedback.db"))
    return tmp_path / "feedback.db"


def test_check_config_names_each_problem_and_fails(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('[[surveys]]\nid = "x"\ntitle = "t"\nquestions = []\n')
    result = run_cli(tmp_path, "check-config", FEEDBACK_SURVEYS=str(tmp_path / "bad.toml"))
    assert result.returncode == 1
    assert "FEEDBACK_BOT_TOKEN: required to run the bot" in result.stderr
    assert "FEEDBACK_SURVEYS" in result.stderr
    assert "bad.toml" in result.stderr
    assert "survey 'x', questions:" in result.stderr


def test_check_config_rejects_malformed_values_without_echoing_secrets(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path, "check-config", FEEDBACK_BOT_TOKEN="oops secretvalue", FEEDBACK_ADMINS="bob"
    )
    assert result.returncode == 1
    assert "FEEDBACK_BOT_TOKEN" in result.stderr
    assert "FEEDBACK_ADMINS" in result.stderr
    assert "secretvalue" not in result.stderr + result.stdout


def test_check_config_passes_a_good_configuration(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "check-config", FEEDBACK_BOT_TOKEN=TOKEN)
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout
    assert "FEEDBACK_STAFF_CHAT is not set" in result.stdout
    assert "sentiment lexicons: en, es" in result.stdout
    assert "updates: long polling" in result.stdout
    assert "intake API: off (no FEEDBACK_API_TOKENS)" in result.stdout
    assert "staff console: off (it needs webhook mode or FEEDBACK_HTTP_LISTEN)" in result.stdout
    assert "FEEDBACK_CLINIC_NAME is not set: patients read “our clinic”" in result.stdout
    assert "team: 0 admins, 0 staff" in result.stdout
    assert "database file: not encrypted (FEEDBACK_DB_KEY_FILE" in result.stdout
    # The built-in pre-visit survey asks for hopes and worries, no scores, on purpose: a
    # fresh install has nothing to fix, so nothing to warn about...
    assert "no CSAT or NPS question" not in result.stdout
    # ...but the same survey in a clinic's own file may be a mistake: said, not refused.
    own = tmp_path / "surveys.toml"
    own.write_bytes((Path(__file__).parent.parent / "bot/surveys/default.toml").read_bytes())
    named = {"FEEDBACK_SURVEYS": str(own), "FEEDBACK_CLINIC_NAME": "Glow Aesthetics"}
    result = run_cli(tmp_path, "check-config", FEEDBACK_BOT_TOKEN=TOKEN, **named)
    assert result.returncode == 0, result.stderr
    assert "warning: survey pre_visit has no CSAT or NPS question" in result.stdout
    assert "warning: survey post_visit" not in result.stdout
    assert "FEEDBACK_CLINIC_NAME" not in result.stdout


def test_check_config_validates_webhook_mode_and_says_where_it_listens(tmp_path: Path) -> None:
    hook = {
        "FEEDBACK_BOT_TOKEN": TOKEN,
        "FEEDBACK_WEBHOOK_URL": "https://feedback.example-clinic.org/tg",
        "FEEDBACK_WEBHOOK_LISTEN": "0.0.0.0:8443",
    }
    missing = run_cli(tmp_path, "check-config", **hook)
    assert missing.returncode != 0
    assert "FEEDBACK_WEBHOOK_SECRET is required" in missing.stderr
    secret = "f" * 40
    result = run_cli(tmp_path, "check-config", **hook, FEEDBACK_WEBHOOK_SECRET=secret)
    assert result.returncode == 0, result.stderr
    assert "updates: webhook https://feedback.example-clinic.org/tg" in result.stdout
    assert "listening on 0.0.0.0:8443" in result.stdout
    assert secret not in result.stdout + result.stderr
    token = "k" * 48
    result = run_cli(
        tmp_path, "check-config", **hook, FEEDBACK_WEBHOOK_SECRET=secret, FEEDBACK_API_TOKENS=token
    )
    assert result.returncode == 0, result.stderr
    assert (
        "intake API: POST https://feedback.example-clinic.org/api/v1/visits (1 token), served "
        "beside the webhook" in result.stdout
    )
    assert token not in result.stdout + result.stderr


def test_check_config_says_where_long_polling_serves_the_intake_api(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path,
        "check-config",
        FEEDBACK_BOT_TOKEN=TOKEN,
        FEEDBACK_API_TOKENS=f"{'a' * 32},{'b' * 32}",
        FEEDBACK_HTTP_LISTEN="127.0.0.1:8081",
    )
    assert result.returncode == 0, result.stderr
    assert "intake API: POST http://127.0.0.1:8081/api/v1/visits (2 tokens)" in result.stdout
    assert "Mindbody's webhook" not in result.stdout
    key = "mindbody-key-0123456789"
    result = run_cli(
        tmp_path,
        "check-config",
        FEEDBACK_BOT_TOKEN=TOKEN,
        FEEDBACK_MINDBODY_SIGNATURE_KEY=key,
        FEEDBACK_HTTP_LISTEN="127.0.0.1:8081",
    )
    assert result.returncode == 0, result.stderr
    assert "intake API: off (no FEEDBACK_API_TOKENS)" in result.stdout
    assert (
        "Mindbody's webhook: http://127.0.0.1:8081/webhooks/mindbody (subscribe it to "
        "appointmentBooking.updated)" in result.stdout
    )
    assert key not in result.stdout + result.stderr
    refused = run_cli(
        tmp_path, "check-config", FEEDBACK_BOT_TOKEN=TOKEN, FEEDBACK_API_TOKENS="x" * 40
    )
    assert refused.returncode == 1
    assert "nothing serves the intake API" in refused.stderr


def test_run_without_a_token_says_so(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "run")
    assert result.returncode == 78  # fix the configuration: systemd does not restart it
    assert "FEEDBACK_BOT_TOKEN: required to run the bot" in result.stderr


@pytest.mark.usefixtures("database")
def test_summary_prints_the_same_numbers_as_the_bot(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "summary", "--period", "all")
    assert result.returncode == 0, result.stderr
    assert "Feedback summary — all time" in result.stdout
    assert "Responses: 3 started, 2 completed (67%)" in result.stdout
    assert "CSAT: 3.67 / 5 · 67% rated 4–5 (3 answers)" in result.stdout
    assert "NPS: +0 · promoters 1, passives 0, detractors 1" in result.stdout
    assert "<b>" not in result.stdout
    recent = run_cli(tmp_path, "summary", "--period", "30d")
    assert "Responses: 2 started" in recent.stdout


def test_summary_without_a_database(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "summary")
    assert result.returncode == 1
    assert "FEEDBACK_DB: no database at" in result.stderr
    assert not (tmp_path / "feedback.db").exists()


@pytest.mark.usefixtures("database")
def test_jsonl_export_follows_the_contract(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "export", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 3
    for record in records:
        assert set(record) == {
            "response_id",
            "patient",
            "survey",
            "status",
            "started_at",
            "completed_at",
            "visit",
            "answers",
            "sentiment",
        }
        assert record["patient"].startswith("P-")
        assert record["survey"] == "post_visit"
        assert record["visit"] is None
        datetime.fromisoformat(record["started_at"])
    first, second, third = records
    assert first["status"] == "completed"
    assert first["answers"] == {"csat": 5, "nps": 10, "comment": "Lovely, natural result!"}
    assert first["sentiment"] == {"comment": {"polarity": 0.5, "label": "positive", "topics": []}}
    assert datetime.fromisoformat(first["completed_at"]) >= datetime.fromisoformat(
        first["started_at"]
    )
    assert third["status"] == "in_progress"
    assert third["completed_at"] is None
    assert third["answers"] == {"csat": 4}
    assert third["sentiment"] == {}
    assert second["answers"]["comment"] == '=HYPERLINK("http://x")'  # JSON is data, kept as is


@pytest.mark.usefixtures("database")
def test_csv_export_is_flat_and_spreadsheet_safe(tmp_path: Path) -> None:
    out = tmp_path / "responses.csv"
    result = run_cli(tmp_path, "export", "--format", "csv", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert len(rows) == 3
    assert list(rows[0])[:10] == [
        "response_id",
        "patient",
        "survey",
        "status",
        "started_at",
        "completed_at",
        "treatment",
        "provider",
        "location",
        "visit_date",
    ]
    assert rows[0]["csat"] == "5"
    assert rows[0]["comment_sentiment"] == "positive"
    assert rows[0]["comment_polarity"] == "0.5000"
    # A spreadsheet would run this as a formula; the export neutralises it.
    assert rows[1]["comment"] == '\'=HYPERLINK("http://x")'
    assert rows[2]["nps"] == ""


@pytest.mark.usefixtures("database")
def test_export_since_a_date(tmp_path: Path) -> None:
    since = (NOW - timedelta(days=10)).date().isoformat()
    result = run_cli(tmp_path, "export", "--format", "jsonl", "--since", since)
    assert len(result.stdout.splitlines()) == 2
    bad = run_cli(tmp_path, "export", "--format", "jsonl", "--since", "last tuesday")
    assert bad.returncode == 2
    assert "is not a date" in bad.stderr
    wrong_format = run_cli(tmp_path, "export", "--format", "xlsx")
    assert wrong_format.returncode == 2


@pytest.mark.usefixtures("database")
def test_trend_writes_the_bots_chart_to_a_png_file(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "trend", "--period", "12m", "--out", "trend.png")
    assert result.returncode == 0, result.stderr
    assert png_size((tmp_path / "trend.png").read_bytes()) == (990, 825)
    wrong = run_cli(tmp_path, "trend", "--period", "5y", "--out", "x.png")
    assert wrong.returncode == 2
    assert "invalid choice" in wrong.stderr
    assert not (tmp_path / "x.png").exists()


async def run_cli_async(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """`run_cli` for tests with a bot in this event loop meanwhile.

    `run_cli` would block the loop: a bot frozen inside a write transaction holds the lock
    the command line needs at start (its migration check), which then gives up after the
    busy timeout with nothing printed.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")}
    environment |= {"FEEDBACK_DB": str(tmp_path / "feedback.db")} | env
    process = await asyncio.create_subprocess_exec(
        feedback_bot(),
        *args,
        env=environment,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def test_check_config_calls_the_example_token_a_placeholder(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "check-config", FEEDBACK_BOT_TOKEN=PLACEHOLDER_TOKEN)
    assert result.returncode == 1
    assert "FEEDBACK_BOT_TOKEN: still the placeholder from the documentation" in result.stderr
    assert PLACEHOLDER_TOKEN in (Path(__file__).parent.parent / ".env.example").read_text()


async def test_check_config_online_asks_telegram_about_the_token_and_the_staff_chat(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    online = {"FEEDBACK_BOT_TOKEN": telegram.token, "FEEDBACK_API_URL": telegram.api_url}
    telegram.groups[-1001] = ("Glow staff", "administrator")
    code, out, err = await run_cli_async(
        tmp_path, "check-config", "--online", FEEDBACK_STAFF_CHAT="-1001", **online
    )
    assert code == 0, err
    assert "configuration OK, and Telegram agrees" in out
    assert "the token is valid; the bot is @clinic_feedback_bot" in out
    assert "staff chat: “Glow staff”; the bot is in it (administrator) and may post there" in out
    telegram.groups[-1002] = ("Old staff", "left")
    telegram.groups[-1003] = ("Read-only", "restricted")
    expected = {
        "-1002": "the bot is not in “Old staff” any more",
        "-1003": "the bot may not post in “Read-only”",
        "-1004": "Telegram knows no such chat for this bot",
    }
    for chat, problem in expected.items():
        code, _, err = await run_cli_async(
            tmp_path, "check-config", "--online", FEEDBACK_STAFF_CHAT=chat, **online
        )
        assert code == 1
        assert f"FEEDBACK_STAFF_CHAT={chat}: {problem}" in err
    wrong = online | {"FEEDBACK_BOT_TOKEN": "123456:WrongTokenWrongToken"}
    code, out, err = await run_cli_async(tmp_path, "check-config", "--online", **wrong)
    assert code == 1
    assert "FEEDBACK_BOT_TOKEN: Telegram rejected it" in err
    assert "WrongToken" not in out + err
    assert "Traceback" not in out + err


@pytest.mark.usefixtures("database")
def test_exports_give_times_on_the_clinics_clock_and_excel_gets_its_byte_order_mark(
    tmp_path: Path,
) -> None:
    madrid = {"FEEDBACK_TIMEZONE": "Europe/Madrid"}
    plain = run_cli(tmp_path, "export", "--format", "csv", "--out", "plain.csv", **madrid)
    excel = run_cli(tmp_path, "export", "--format", "csv", "--excel", "--out", "x.csv", **madrid)
    assert plain.returncode == excel.returncode == 0, plain.stderr + excel.stderr
    plain_bytes = (tmp_path / "plain.csv").read_bytes()
    excel_bytes = (tmp_path / "x.csv").read_bytes()
    assert not plain_bytes.startswith(b"\xef\xbb\xbf")
    assert excel_bytes == b"\xef\xbb\xbf" + plain_bytes
    rows = list(csv.DictReader(io.StringIO(plain_bytes.decode("utf-8"))))
    for row in rows:
        started = datetime.fromisoformat(row["started_at"])
        assert started.utcoffset() in (timedelta(hours=1), timedelta(hours=2))  # CET, CEST
        assert started.microsecond == 0
        assert "." not in row["started_at"]
    jsonl = run_cli(tmp_path, "export", "--format", "jsonl", **madrid)
    record = json.loads(jsonl.stdout.splitlines()[0])
    assert record["started_at"].endswith(("+01:00", "+02:00"))
    assert "." not in record["started_at"]
