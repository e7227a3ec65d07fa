"""The operator's second hour: what a first deployment runs into, each answered in a line."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_cli import TOKEN, made_by_the_bot, run_cli
from tests.test_cli_errors import USERNAME, invitations
from tests.test_process import feedback_bot

# A folder on sys.path first, whose sitecustomize hides asyncpg: an install without the
# `[postgres]` extra, in a process of its own.
NO_DRIVER = "import sys\nsys.modules['asyncpg'] = None\n"


def without_postgresql_driver(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "no-driver"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(NO_DRIVER)
    return {"PYTHONPATH": str(folder)}


def test_without_the_postgresql_driver_every_command_names_the_extra_to_install(
    tmp_path: Path,
) -> None:
    hidden = without_postgresql_driver(tmp_path)
    address = "postgresql://feedback@127.0.0.1:5432/feedback"
    check = run_cli(
        tmp_path, "check-config", FEEDBACK_BOT_TOKEN=TOKEN, FEEDBACK_DB=address, **hidden
    )
    summary = run_cli(tmp_path, "summary", FEEDBACK_DB=address, **hidden)
    made_by_the_bot(tmp_path / "feedback.db")
    copy = run_cli(tmp_path, "copy-db", "--to", address, **hidden)
    for result in (check, summary, copy):
        assert result.returncode == 1
        assert "needs its driver, which is not installed" in result.stderr
        assert "pip install '/path/to/medspa-feedback-bot[postgres]'" in result.stderr
        assert "Traceback" not in result.stderr
        assert "unexpected error" not in result.stderr
    assert "configuration OK" not in check.stdout


def test_a_backup_into_a_folder_not_yet_made_makes_it_for_its_owner_alone(tmp_path: Path) -> None:
    made_by_the_bot(tmp_path / "feedback.db")
    result = run_cli(tmp_path, "backup", "backups/feedback-2026-12-05.db")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "backups" / "feedback-2026-12-05.db").is_file()
    assert (tmp_path / "backups").stat().st_mode & 0o777 == 0o700


def test_invite_in_the_wrong_folder_refuses_and_creates_no_database(tmp_path: Path) -> None:
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    result = run_cli(
        elsewhere,
        "invite", "--treatment", "botox", "--provider", "Dr Li",
        **USERNAME,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""  # no link the running bot would refuse
    assert f"no database at {elsewhere / 'feedback.db'}" in result.stderr
    assert "run this in the bot's folder" in result.stderr
    assert not (elsewhere / "feedback.db").exists()


def test_a_booking_file_with_bad_rows_names_every_row_and_creates_nothing(tmp_path: Path) -> None:
    made_by_the_bot(tmp_path / "feedback.db")
    visits = tmp_path / "visits.csv"
    visits.write_text(
        "treatment,provider,date,survey\n"
        "botox,Dr Li,2026-12-05,\n"
        "Botax,Dr Li,2026-12-05,\n"
        "filler,,2026-12-05,\n"
        "filler,Dr Kim,05/12/2026,\n"
        "filler,Dr Kim,2026-12-05,post_visti\n",
        "utf-8",
    )
    first = run_cli(tmp_path, "invite", "--csv", str(visits), **USERNAME)
    assert first.returncode == 1
    lines = first.stderr.strip().splitlines()
    assert lines[0] == f"feedback-bot: {visits}: nothing was created; fix these rows:"
    assert lines[1:] == [
        "  - row 4: treatment and provider are required",
        "  - row 5: '05/12/2026' is not a date; use YYYY-MM-DD",
    ]
    # Those fixed, the catalogue's problems come next, every one with its row.
    visits.write_text(
        "treatment,provider,survey\nbotox,Dr Li,\nBotax,Dr Li,\nfiller,Dr Kim,post_visti\n",
        "utf-8",
    )
    second = run_cli(tmp_path, "invite", "--csv", str(visits), **USERNAME)
    assert second.returncode == 1
    problems = second.stderr.strip().splitlines()[1:]
    assert len(problems) == 2
    assert problems[0].startswith("  - row 3: unknown treatment 'Botax'")
    assert "Botox" in problems[0]  # did you mean
    assert problems[1].startswith("  - row 4: unknown survey 'post_visti'")
    assert invitations(tmp_path / "feedback.db") == 0


def test_links_for_an_excel_booking_file_come_back_as_excel_wrote_it(tmp_path: Path) -> None:
    made_by_the_bot(tmp_path / "feedback.db")
    visits = tmp_path / "visits.csv"
    visits.write_bytes(
        "Treatment;Provider;Location\r\nJuvéderm;Dra. Núñez;Centro\r\n".encode("cp1252")
    )
    links = tmp_path / "links.csv"
    result = run_cli(tmp_path, "invite", "--csv", str(visits), "--out", str(links), **USERNAME)
    assert result.returncode == 0, result.stderr
    data = links.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 (and so the accents) by it
    [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert row["Provider"] == "Dra. Núñez"
    assert row["link"].startswith("https://t.me/glow_feedback_bot?start=")
    plain = tmp_path / "plain.csv"
    plain.write_text("treatment,provider\nbotox,Dr Li\n", "utf-8")
    result = run_cli(tmp_path, "invite", "--csv", str(plain), "--out", str(links), **USERNAME)
    assert result.returncode == 0, result.stderr
    assert links.read_bytes().startswith(b"treatment,provider,link,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("demo", "--lang", "fr"), "--lang: the bot speaks en, es, not 'fr'"),
        (("trend", "--out", "t.pdf"), "'t.pdf': the chart is a PNG image; name it .png"),
    ],
    ids=["demo in French", "trend to a PDF"],
)
def test_an_option_the_bot_cannot_honour_is_refused_in_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    made_by_the_bot(tmp_path / "feedback.db")
    result = run_cli(tmp_path, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "t.pdf").exists()
    assert "Traceback" not in result.stderr


def test_copy_db_help_says_what_to_give(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "copy-db", "--help")
    assert result.returncode == 0
    assert "(empty)" not in result.stdout
    assert "the new, empty PostgreSQL database" in " ".join(result.stdout.split())


@pytest.mark.parametrize("token", ["123456789:your-token", "123456789:replace-with-your-token"])
def test_the_documented_placeholder_tokens_do_not_pass_check_config(
    tmp_path: Path, token: str
) -> None:
    result = run_cli(tmp_path, "check-config", FEEDBACK_BOT_TOKEN=token)
    assert result.returncode == 1
    assert "still the placeholder" in result.stderr


def test_a_webhook_url_on_a_port_telegram_does_not_call_is_refused(tmp_path: Path) -> None:
    hook = {
        "FEEDBACK_WEBHOOK_SECRET": "0123456789abcdef0123456789abcdef",
        "FEEDBACK_BOT_TOKEN": TOKEN,
    }
    wrong = run_cli(
        tmp_path, "check-config", FEEDBACK_WEBHOOK_URL="https://clinic.example:8080/tg", **hook
    )
    assert wrong.returncode == 1
    assert (
        "FEEDBACK_WEBHOOK_URL: port 8080; Telegram calls webhooks only on 443, 80, 88, 8443"
        in wrong.stderr
    )
    right = run_cli(
        tmp_path, "check-config", FEEDBACK_WEBHOOK_URL="https://clinic.example:8443/tg", **hook
    )
    assert right.returncode == 0, right.stderr


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="a network namespace of its own needs root and unshare (CI has both)",
)
def test_check_config_online_without_a_network_blames_the_network_not_a_setting(
    tmp_path: Path,
) -> None:
    # A network namespace with no interface up: as a clinic's machine with the network down.
    # Nothing leaves this machine: the lookup of api.telegram.org fails inside it.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")}
    result = subprocess.run(
        ["unshare", "--net", feedback_bot(), "check-config", "--online"],
        env=environment | {"FEEDBACK_BOT_TOKEN": TOKEN, "FEEDBACK_DB": str(tmp_path / "f.db")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot reach Telegram" in result.stderr
    assert "check this machine's network, DNS or firewall" in result.stderr
    assert "FEEDBACK_API_URL" not in result.stderr
