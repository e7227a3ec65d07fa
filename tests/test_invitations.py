"""Visit invitations: a single-use link ties a patient's answers to a visit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.domain.surveys import SurveyFileError, load_catalog
from bot.settings import Settings
from tests.fake_telegram import FakeTelegram, Person
from tests.harness import ADMIN_ID, STAFF_CHAT, FakeClock, running_bot
from tests.storage_view import stored_responses
from tests.test_cli import made_by_the_bot, run_cli, run_cli_async

LINK = re.compile(r"https://t\.me/clinic_feedback_bot\?start=([A-Za-z0-9_-]+)")


async def invite(telegram: FakeTelegram, *words: str) -> str:
    """An admin's /invite; returns the code from the link in the photo's caption."""
    admin = telegram.patient(ADMIN_ID)
    admin.skip_to_end()
    await admin.send("/invite " + " ".join(words))
    reply = await admin.next_message()
    assert reply.photo is not None, reply.text
    assert reply.photo.startswith(b"\x89PNG")
    match = LINK.search(reply.text)
    assert match, reply.text
    assert len(match.group(1)) <= 64
    return match.group(1)


async def open_link(patient: Person, code: str) -> None:
    await patient.send(f"/start {code}")


@pytest.mark.usefixtures("bot")
async def test_an_invitation_ties_the_answers_to_the_visit(
    telegram: FakeTelegram, settings: Settings, tmp_path: Path
) -> None:
    code = await invite(telegram, "neuromodulator", '"Dr Ana Ruiz"', "Downtown", "2026-11-02")
    patient = telegram.patient(401)
    await open_link(patient, code)
    await patient.next_message()
    await patient.tap("I agree")
    # The visit is known, so no treatment question: straight to the survey.
    assert (await patient.next_message()).text.startswith("Question 1 of 3")
    await patient.tap("1")
    await patient.next_message()
    await patient.tap("3")
    await patient.next_message()
    await patient.send("The doctor was rushed")
    await patient.next_message()
    await telegram.wait_for(
        lambda: any("Dr Ana Ruiz" in m.text for m in telegram.messages_to(STAFF_CHAT))
    )
    alert = telegram.messages_to(STAFF_CHAT)[0]
    assert "Visit: Botox / neuromodulator · Dr Ana Ruiz · Downtown · 2026-11-02" in alert.text

    status, out, err = await run_cli_async(
        tmp_path, "export", "--format", "jsonl", FEEDBACK_DB=str(settings.db)
    )
    assert status == 0, err
    [record] = [json.loads(line) for line in out.splitlines()]
    assert record["visit"] == {
        "treatment": "neuromodulator",
        "provider": "Dr Ana Ruiz",
        "location": "Downtown",
        "date": "2026-11-02",
    }


@pytest.mark.usefixtures("bot")
async def test_a_used_link_is_refused_politely(telegram: FakeTelegram, settings: Settings) -> None:
    code = await invite(telegram, "filler", "Nurse_Kim")
    first, second = telegram.patient(402), telegram.patient(403)
    await open_link(first, code)
    await first.next_message()
    await first.tap("I agree")
    await first.next_message()
    # Someone else opens the same link while the first patient is answering.
    await open_link(second, code)
    assert "already been used" in (await second.next_message()).text
    for value in ("5", "10"):
        await first.tap(value)
        await first.next_message()
    await first.tap("Skip")
    assert "Thank you" in (await first.next_message()).text
    await open_link(first, code)  # reused after completion
    assert "already been used" in (await first.next_message()).text
    [response] = await stored_responses(settings.db)
    assert response.visit is not None
    assert response.visit.provider == "Nurse_Kim"


async def test_an_expired_link_and_a_forged_one(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock):
        code = await invite(telegram, "laser", "Dr_Li")
        clock.advance(days=14, seconds=1)
        patient = telegram.patient(404)
        await open_link(patient, code)
        assert "expired" in (await patient.next_message()).text
        for forged in ("A" * 22, code[:-1] + ("B" if code[-1] != "B" else "C"), "x" * 64):
            await open_link(patient, forged)
            assert "don't recognise that link" in (await patient.next_message()).text
        await patient.send("/start not-a/valid+payload")
        assert "don't recognise that link" in (await patient.next_message()).text
        await patient.send("/start")  # without a link the patient can still give feedback
        assert "Nothing is stored until you tap" in (await patient.next_message()).text


@pytest.mark.usefixtures("bot")
async def test_an_invitation_can_name_another_survey(telegram: FakeTelegram) -> None:
    code = await invite(telegram, "filler", "Dr_Li", "results_check")
    patient = telegram.patient(405)
    await open_link(patient, code)
    await patient.next_message()
    await patient.tap("I agree")
    assert "How happy are you with your results" in (await patient.next_message()).text


@pytest.mark.usefixtures("bot")
async def test_invite_checks_its_words_and_is_for_staff_only(telegram: FakeTelegram) -> None:
    admin = telegram.patient(ADMIN_ID)
    await admin.send("/invite botx Dr_Li")
    refusal = (await admin.next_message()).text
    assert refusal.startswith("unknown treatment 'botx' (did you mean Botox or baby botox?);")
    await admin.send("/invite filler")
    assert "Usage: /invite" in (await admin.next_message()).text
    await admin.send("/invite filler Dr_Li 2026-13-45")
    assert "Usage: /invite" in (await admin.next_message()).text
    await admin.send('/invite filler "Dr Li')
    assert "Usage: /invite" in (await admin.next_message()).text
    stranger = telegram.patient(406)
    await stranger.send("/invite filler Dr_Li")
    assert (await stranger.next_message()).text == "Sorry, this command is for clinic staff only."


def test_the_command_line_makes_a_link_and_a_qr_code(tmp_path: Path) -> None:
    made_by_the_bot(tmp_path / "feedback.db")
    result = run_cli(
        tmp_path,
        "invite",
        "--treatment",
        "Dermal filler",
        "--provider",
        "Dr Ana Ruiz",
        "--qr",
        str(tmp_path / "visit.png"),
        FEEDBACK_BOT_USERNAME="glow_feedback_bot",
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"https://t\.me/glow_feedback_bot\?start=[A-Za-z0-9_-]{22}\n", result.stdout)
    assert (tmp_path / "visit.png").read_bytes().startswith(b"\x89PNG")


def test_a_days_visits_from_a_booking_csv(tmp_path: Path) -> None:
    made_by_the_bot(tmp_path / "feedback.db")
    visits = tmp_path / "visits.csv"
    visits.write_text(
        "patient_name,treatment,provider,location,date\n"
        "Ana,filler,Dr Li,Downtown,2026-11-30\n"
        "Bea,laser,Dr Li,,2026-11-30\n"
        "Cy,Chemical peel,Nurse Kim,Uptown,\n",
        "utf-8",
    )
    out = tmp_path / "links.csv"
    result = run_cli(
        tmp_path,
        "invite",
        "--csv",
        str(visits),
        "--qr-dir",
        str(tmp_path / "qr"),
        "--out",
        str(out),
        FEEDBACK_BOT_USERNAME="glow_feedback_bot",
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_text("utf-8").splitlines()
    assert lines[0] == "patient_name,treatment,provider,location,date,link,expires_at,qr_file"
    links = [line.split(",")[5] for line in lines[1:]]
    assert [line.split(",")[0] for line in lines[1:]] == ["Ana", "Bea", "Cy"]
    assert len(set(links)) == 3
    for line in lines[1:]:
        assert Path(line.split(",")[7]).read_bytes().startswith(b"\x89PNG")


def test_a_bad_booking_row_creates_nothing(tmp_path: Path) -> None:
    made_by_the_bot(tmp_path / "feedback.db")
    visits = tmp_path / "visits.csv"
    visits.write_text("treatment,provider\nfiller,Dr Li\nlaser,\n", "utf-8")
    result = run_cli(
        tmp_path, "invite", "--csv", str(visits), FEEDBACK_BOT_USERNAME="glow_feedback_bot"
    )
    assert result.returncode == 1
    assert "row 3: treatment and provider are required" in result.stderr
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("treatment,provider\nfiller,Dr Li\nthread lift,Dr Li\n", "utf-8")
    result = run_cli(
        tmp_path, "invite", "--csv", str(unknown), FEEDBACK_BOT_USERNAME="glow_feedback_bot"
    )
    assert result.returncode == 1
    assert "unknown treatment 'thread lift'" in result.stderr


async def finish_visit(patient: Person, csat: str, nps: str) -> None:
    await patient.next_message()
    await patient.tap(csat)
    await patient.next_message()
    await patient.tap(nps)
    await patient.next_message()
    await patient.tap("Skip")
    assert "Thank you" in (await patient.next_message()).text


@pytest.mark.usefixtures("bot")
async def test_summary_breaks_scores_down_by_treatment_provider_and_location(
    telegram: FakeTelegram,
) -> None:
    visits = [("filler", "Dr_Li", "Downtown", "5", "10"), ("filler", "Dr_Kim", "Uptown", "2", "3")]
    visits += [("laser", "Dr_Li", "Downtown", "4", "9")]
    for number, (treatment, provider, location, csat, nps) in enumerate(visits):
        code = await invite(telegram, treatment, provider, location)
        patient = telegram.patient(450 + number)
        await open_link(patient, code)
        await patient.next_message()
        await patient.tap("I agree")
        await finish_visit(patient, csat, nps)
    walk_in = telegram.patient(460)  # no invitation: picks the treatment, no provider
    await walk_in.send("/start")
    await walk_in.next_message()
    await walk_in.tap("I agree")
    await walk_in.next_message()
    await walk_in.tap("Chemical peel")
    await finish_visit(walk_in, "5", "8")

    admin = telegram.patient(ADMIN_ID)
    admin.skip_to_end()
    await admin.send("/summary")
    report = (await admin.next_message()).text
    by_treatment = report.split("<b>By treatment</b>\n")[1].split("\n\n")[0].splitlines()
    assert by_treatment == [
        "• Dermal filler: 2 · CSAT 3.5 · NPS +0",
        "• Laser or light treatment: 1 · CSAT 4.0 · NPS +100",  # ties: by id, laser < peel
        "• Chemical peel: 1 · CSAT 5.0 · NPS +0",
    ]
    by_provider = report.split("<b>By provider</b>\n")[1].split("\n\n")[0].splitlines()
    assert by_provider == ["• Dr_Li: 2 · CSAT 4.5 · NPS +100", "• Dr_Kim: 1 · CSAT 2.0 · NPS -100"]
    assert "• Downtown: 2 · CSAT 4.5 · NPS +100" in report


@pytest.mark.usefixtures("bot")
async def test_a_second_link_for_an_identical_visit_starts_its_own_survey(
    telegram: FakeTelegram, settings: Settings
) -> None:
    first = await invite(telegram, "filler", "Dr_Li", "Downtown", "2026-11-02")
    second = await invite(telegram, "filler", "Dr_Li", "Downtown", "2026-11-02")
    patient = telegram.patient(470)
    await open_link(patient, first)
    await patient.next_message()
    await patient.tap("I agree")
    await patient.next_message()
    await patient.tap("4")
    await patient.next_message()
    await open_link(patient, first)  # the same link again: carry on
    assert "carry on" in (await patient.next_message()).text
    assert (await patient.next_message()).text.startswith("Question 2 of 3")
    await open_link(patient, second)  # another visit: a survey of its own
    assert (await patient.next_message()).text.startswith("Question 1 of 3")
    earlier, later = await stored_responses(settings.db)
    assert (earlier.status.value, earlier.values) == ("abandoned", {"csat": 4})
    assert (later.invitation_code, later.values) == (second, {})


@pytest.mark.usefixtures("bot")
async def test_the_summary_shows_how_many_visit_links_were_opened_and_completed(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    links = [
        await invite(telegram, "filler", "Dr_Li", "Downtown"),
        await invite(telegram, "filler", "Dr_Li", "Uptown"),
        await invite(telegram, "laser", "Dr_Kim", "Downtown"),
        await invite(telegram, "peel", "Dr_Kim", "Downtown"),
    ]
    # Dr Li's first patient completes, the second agrees and stops; Dr Kim's never open.
    finisher, starter = telegram.patient(4601), telegram.patient(4602)
    for patient, code in ((finisher, links[0]), (starter, links[1])):
        await open_link(patient, code)
        await patient.next_message()
        await patient.tap("I agree")
        await patient.next_message()
    for answer in ("5", "9"):
        await finisher.tap(answer)
        await finisher.next_message()
    await finisher.tap("Skip")
    assert "Thank you" in (await finisher.next_message()).text
    admin = telegram.patient(ADMIN_ID)
    admin.skip_to_end()
    await admin.send("/summary")
    summary = (await admin.next_message()).text
    assert "Visit links: 4 created · 2 opened (50%) · 1 completed (25%)" in summary
    by_provider = summary.split("<b>Visit links by provider</b>\n")[1].split("\n\n")[0]
    assert by_provider.splitlines() == [
        "• Dr_Kim: 2 created · 0 opened · 0 completed (0%)",
        "• Dr_Li: 2 created · 2 opened · 1 completed (50%)",
    ]
    # The command line on the bot's calendar, not today's: the last 30 days are the bot's.
    status, out, err = await run_cli_async(
        tmp_path,
        "summary",
        FEEDBACK_DB=str(settings.db),
        FEEDBACK_TEST_NOW=clock.now().isoformat(),
    )
    assert status == 0, err
    assert "Visit links: 4 created · 2 opened (50%) · 1 completed (25%)" in out
    assert "Visit links by location" in out


@pytest.mark.usefixtures("bot")
async def test_the_desk_can_type_brand_names_as_in_the_bots_own_example(
    telegram: FakeTelegram,
) -> None:
    admin = telegram.patient(ADMIN_ID)
    await admin.send('/invite botox "Dr Li"')  # the example in the usage hint
    created = await admin.next_message()
    assert created.photo is not None
    assert created.text.startswith("Visit link for Botox / neuromodulator with Dr Li")


@pytest.mark.parametrize(
    ("typed", "treatment"),
    [
        ("JUVÉ-DERM", "filler"),
        ("juvederm voluma", "filler"),
        ("Restylane Kysse", "filler"),
        ("co2", "laser"),
        ("CO₂ laser", "laser"),
        ("Laser hair removal", "laser"),
        ("ipl", "laser"),
        ("hydrafacial", "skin_care"),
        ("Micro needling", "skin_care"),
        ("vi peel", "peel"),
        ("Dysport", "neuromodulator"),
        ("bótox", "neuromodulator"),
        ("Relleno dérmico", "filler"),  # a label in the clinic's other language
        ("neuromodulator", "neuromodulator"),
    ],
)
def test_treatment_names_ignore_case_accents_and_spacing(typed: str, treatment: str) -> None:
    found = load_catalog().treatment_named(typed)
    assert found is not None
    assert found.id == treatment


def test_a_survey_file_adds_its_own_names_and_may_not_give_one_name_two_treatments(
    tmp_path: Path,
) -> None:
    base = (
        '[[surveys]]\nid = "s"\ntitle = "S"\n[[surveys.questions]]\nid = "c"\n'
        'type = "text"\ntext = "How was it?"\n'
    )
    path = tmp_path / "surveys.toml"
    path.write_text(
        base + '[[treatments]]\nid = "filler"\nlabel = "Filler"\naliases = ["Lip plump"]\n'
        '[[treatments]]\nid = "thread_lift"\nlabel = "Thread lift"\naliases = ["PDO"]\n',
        "utf-8",
    )
    catalog = load_catalog(path)
    found = [catalog.treatment_named(name) for name in ("lip plump", "pdo", "Juvederm")]
    assert [treatment.id if treatment else None for treatment in found] == [
        "filler",
        "thread_lift",
        "filler",  # the built-in names of the ids it shares with the built-in catalogue
    ]
    path.write_text(
        base + '[[treatments]]\nid = "a"\nlabel = "A"\naliases = ["Lift"]\n'
        '[[treatments]]\nid = "b"\nlabel = "B"\naliases = ["LIFT"]\n',
        "utf-8",
    )
    with pytest.raises(SurveyFileError, match="the name 'LIFT' is already 'a'"):
        load_catalog(path)
