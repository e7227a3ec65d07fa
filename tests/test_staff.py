"""Staff see unhappy patients at once and ask for summaries; nobody else sees any data."""

from __future__ import annotations

import csv
import html
import io

import pytest

from bot.settings import Settings
from tests.fake_telegram import FakeTelegram, Fault, Person, SentMessage
from tests.harness import ADMIN_ID, STAFF_CHAT, FakeClock, running_bot
from tests.test_patient_flow import agree, answer_all


def staff_messages(telegram: FakeTelegram) -> list[SentMessage]:
    return telegram.messages_to(STAFF_CHAT)


async def alerts_posted(telegram: FakeTelegram, count: int) -> list[SentMessage]:
    """Alerts go out right after the patient's reply; wait for them."""
    await telegram.wait_for(lambda: len(staff_messages(telegram)) >= count)
    return staff_messages(telegram)


async def alert_showing(telegram: FakeTelegram, text: str) -> SentMessage:
    """The single alert, once it shows `text` (alerts are edited as answers arrive)."""
    await telegram.wait_for(
        lambda: len(staff_messages(telegram)) == 1 and text in staff_messages(telegram)[0].text
    )
    return staff_messages(telegram)[0]


async def finish(patient: Person, csat: str, nps: str, comment: str | None) -> None:
    await answer_all(patient, csat, nps, comment)
    assert "Thank you" in (await patient.next_message()).text


@pytest.mark.usefixtures("bot")
async def test_a_low_score_alerts_staff_and_the_alert_follows_the_answers(
    telegram: FakeTelegram,
) -> None:
    patient = telegram.patient(31)
    await answer_all(patient, "1", "3", None)
    alert = await alert_showing(telegram, "Status: completed")
    assert alert.parse_mode == "HTML"
    assert "Patient needs a follow-up" in alert.text
    assert "low satisfaction score" in alert.text
    assert "unlikely to recommend" in alert.text
    assert "<b>csat</b>: 1/5" in alert.text
    assert "<b>nps</b>: 3/10" in alert.text
    assert "<b>comment</b>: (skipped)" in alert.text
    assert "Status: completed" in alert.text
    pseudonym = alert.text.split("— ", 1)[1].split("\n", 1)[0]
    assert pseudonym.startswith("P-")
    assert "31" not in alert.text.replace(pseudonym, "")  # the pseudonym, never the Telegram id


@pytest.mark.usefixtures("bot")
async def test_alert_arrives_before_the_patient_finishes(telegram: FakeTelegram) -> None:
    patient = telegram.patient(32)
    await answer_all(patient, "2", "9", None)
    alert = await alert_showing(telegram, "Status: completed")
    # Posted at the csat answer, then edited as the nps and the skip came in.
    assert alert.edits >= 1
    assert "<b>nps</b>: 9/10" in alert.text


@pytest.mark.usefixtures("bot")
async def test_a_negative_comment_alerts_staff_with_the_comment_escaped(
    telegram: FakeTelegram,
) -> None:
    patient = telegram.patient(33)
    comment = "<b>Terrible</b> & rude staff, awful <script>alert(1)</script>"
    await finish(patient, "4", "8", comment)
    [alert] = await alerts_posted(telegram, 1)
    assert "negative comment" in alert.text
    assert html.escape(comment) in alert.text
    assert "(negative, " in alert.text


@pytest.mark.usefixtures("bot")
async def test_happy_patients_raise_no_alert(telegram: FakeTelegram) -> None:
    await finish(telegram.patient(34), "5", "10", "Wonderful, thank you!")
    await finish(telegram.patient(35), "4", "7", None)
    assert staff_messages(telegram) == []


async def test_alerts_missed_during_an_outage_are_sent_after_a_restart(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock):
        telegram.fail_next("sendMessage", Fault(502, "Bad Gateway", chat_id=STAFF_CHAT))
        patient = telegram.patient(36)
        await agree_and_rate(patient, "1")
        # The alert failed; the patient still got their next question.
        assert (await patient.next_message()).text.startswith("Question 2 of 3")
        await telegram.wait_for(lambda: not telegram.faults["sendMessage"])
        await patient.send("/help")  # handled only after the failed alert attempt
        await patient.next_message()
        assert staff_messages(telegram) == []
    async with running_bot(settings, clock):
        await telegram.wait_for(lambda: len(staff_messages(telegram)) == 1)
    [alert] = staff_messages(telegram)
    assert "<b>csat</b>: 1/5" in alert.text


async def agree_and_rate(patient: Person, csat: str) -> None:
    await agree(patient)
    await patient.next_message()
    await patient.tap(csat)


@pytest.mark.usefixtures("bot")
async def test_summary_numbers_match_what_patients_answered(telegram: FakeTelegram) -> None:
    answers = [("5", "10", "Loved it, the nurse was lovely"), ("4", "8", None), ("1", "2", None)]
    answers += [("2", "6", "Rude receptionist and a terrible wait")]
    for number, (csat, nps, comment) in enumerate(answers):
        await finish(telegram.patient(40 + number), csat, nps, comment)
    unfinished = telegram.patient(50)
    await agree_and_rate(unfinished, "3")
    await unfinished.next_message()

    csats = [int(a[0]) for a in answers] + [3]
    npss = [int(a[1]) for a in answers]
    promoters = sum(n >= 9 for n in npss)
    detractors = sum(n <= 6 for n in npss)
    nps_score = 100 * (promoters - detractors) / len(npss)

    admin = telegram.patient(ADMIN_ID)
    await admin.send("/summary 7d")
    report = (await admin.next_message()).text
    assert "Feedback summary — last 7d" in report
    assert f"Responses: {len(answers) + 1} started, {len(answers)} completed (80%)" in report
    satisfied = sum(c >= 4 for c in csats) / len(csats)
    assert f"CSAT: {sum(csats) / len(csats):.2f} / 5 · {satisfied:.0%} rated 4–5" in report
    assert f"NPS: {nps_score:+.0f} · promoters {promoters}, passives 1, detractors 2" in report
    assert "Comment sentiment: negative 1, neutral 0, positive 1" in report
    assert "Rude receptionist and a terrible wait" in report
    assert "Loved it" not in report.split("Latest negative comments")[1]


async def test_summary_periods_leave_out_older_responses(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock):
        await finish(telegram.patient(60), "5", "10", None)
        clock.advance(days=20)
        await finish(telegram.patient(61), "1", "0", None)
        admin = telegram.patient(ADMIN_ID)
        for period, started in (("7d", 1), ("30d", 2), ("all", 2)):
            await admin.send(f"/summary {period}")
            assert f"Responses: {started} started" in (await admin.next_message()).text


@pytest.mark.usefixtures("bot")
async def test_summary_works_in_the_staff_chat_and_refuses_bad_periods(
    telegram: FakeTelegram,
) -> None:
    admin = telegram.in_group(telegram.patient(ADMIN_ID), STAFF_CHAT)
    await admin.send("/summary")
    assert "last 30d" in (await admin.next_message()).text
    await admin.send("/summary yesterday")
    assert "Usage: /summary [7d|30d|90d|all]" in (await admin.next_message()).text


@pytest.mark.usefixtures("bot")
async def test_non_admins_get_no_data(telegram: FakeTelegram) -> None:
    await finish(telegram.patient(70), "1", "0", "Awful, my lips are lumpy and I am furious")
    await alert_showing(telegram, "lumpy")
    for person in (telegram.patient(71), telegram.in_group(telegram.patient(72), STAFF_CHAT)):
        person.skip_to_end()
        await person.send("/summary all")
        reply = (await person.next_message()).text
        assert reply == "Sorry, this command is for clinic staff only."
        await person.send("/help")
        assert "/summary" not in (await person.next_message()).text


@pytest.mark.usefixtures("bot")
async def test_admins_see_staff_commands_in_help(telegram: FakeTelegram) -> None:
    admin = telegram.patient(ADMIN_ID)
    await admin.send("/help")
    assert "/summary" in (await admin.next_message()).text


@pytest.mark.usefixtures("bot")
async def test_the_command_menu_is_set_at_start_up(telegram: FakeTelegram) -> None:
    assert [c["command"] for c in telegram.commands] == [
        "start",
        "cancel",
        "language",
        "stop",
        "forget",
        "help",
    ]


@pytest.mark.usefixtures("bot")
async def test_cancelling_updates_the_alert(telegram: FakeTelegram) -> None:
    patient = telegram.patient(37)
    await agree_and_rate(patient, "1")
    await alert_showing(telegram, "Status: in progress")
    await patient.send("/cancel")
    alert = await alert_showing(telegram, "Status: abandoned")
    assert "<b>csat</b>: 1/5" in alert.text


async def test_export_sends_every_response_as_a_csv_file_to_an_admin_in_private(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock):
        await finish(telegram.patient(4_400_001), "5", "10", "Lovely, thank you")
        clock.advance(days=20)
        await finish(telegram.patient(4_400_002), "2", "3", None)
        admin = telegram.patient(ADMIN_ID)
        await admin.send("/export")
        everything = await admin.next_message()
        await admin.send("/export 7d")
        recent = await admin.next_message()
    assert everything.filename == "feedback-all-2026-11-22.csv"
    assert everything.text.startswith("Feedback export, all time: 2 responses")
    assert everything.document is not None
    assert everything.document.startswith(b"\xef\xbb\xbf")  # staff open it in Excel
    rows = list(csv.DictReader(io.StringIO(everything.document.decode("utf-8-sig"))))
    assert [(row["csat"], row["nps"], row["comment"]) for row in rows] == [
        ("5", "10", "Lovely, thank you"),
        ("2", "3", ""),
    ]
    assert all(row["patient"].startswith("P-") for row in rows)
    assert b"4400001" not in everything.document  # pseudonyms only, never Telegram ids
    assert recent.document is not None
    assert len(list(csv.DictReader(io.StringIO(recent.document.decode("utf-8-sig"))))) == 1


@pytest.mark.usefixtures("bot")
async def test_export_works_only_for_admins_in_private(telegram: FakeTelegram) -> None:
    staff_room = telegram.in_group(telegram.patient(ADMIN_ID), STAFF_CHAT)
    await staff_room.send("/export")
    assert "works only in a private chat" in (await staff_room.next_message()).text
    stranger = telegram.patient(73)
    await stranger.send("/export")
    assert (await stranger.next_message()).text == "Sorry, this command is for clinic staff only."
    admin = telegram.patient(ADMIN_ID)
    await admin.send("/export last-year")
    assert (await admin.next_message()).text.startswith("Usage: /export")
    assert all(m.document is None for m in telegram.messages)


@pytest.mark.usefixtures("bot")
async def test_chatid_tells_an_admin_the_groups_id_for_the_staff_chat_setting(
    telegram: FakeTelegram,
) -> None:
    group = -100_777
    admin = telegram.in_group(telegram.patient(ADMIN_ID), group, "New staff group")
    await admin.send("/chatid")
    assert (await admin.next_message()).text.startswith(
        f"This chat's id is {group}. To have staff alerts posted here, set "
        f"FEEDBACK_STAFF_CHAT={group}"
    )
    stranger = telegram.in_group(telegram.patient(4545), group, "New staff group")
    stranger.skip_to_end()  # the same group: the admin's answer is above
    await stranger.send("/chatid")
    assert (await stranger.next_message()).text == "Sorry, this command is for clinic staff only."
    private = telegram.patient(ADMIN_ID)
    await private.send("/chatid")
    assert "Send /chatid in the staff group" in (await private.next_message()).text
