"""Staff alerts are an outbox: delivered in the background, whatever else fails, once each."""

from __future__ import annotations

import asyncio

import pytest

from bot.settings import Settings
from handlers.texts import CATALOGUES
from tests.fake_telegram import FakeTelegram, Fault
from tests.harness import STAFF_CHAT, FakeClock, running_bot
from tests.test_patient_flow import agree, answer_all
from tests.test_staff import alert_showing, staff_messages

BLOCKED = "Forbidden: bot was blocked by the user"
REPEAT_NOTE = CATALOGUES["en"].alert_maybe_repeat


@pytest.mark.usefixtures("bot")
async def test_a_clinical_alert_reaches_staff_though_the_patient_has_blocked_the_bot(
    telegram: FakeTelegram,
) -> None:
    patient = telegram.patient(701)
    await agree(patient)
    await patient.next_message()
    await patient.tap("4")
    await patient.next_message()
    await patient.tap("8")
    await patient.next_message()
    # From here on every message to the patient fails, as after they block the bot.
    telegram.fail_next("sendMessage", Fault(403, BLOCKED, chat_id=701), times=50)
    await patient.send("Severe bleeding and my vision is blurred since this morning")
    alert = await alert_showing(telegram, "Possible complication")
    assert "possible complication: blurred (vision change)" in alert.text
    assert telegram.messages_to(701)[-1].text.startswith("Question 3 of 3")  # nothing since


async def test_alerts_raised_while_the_staff_chat_is_down_arrive_once_when_it_is_back(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    outage = [
        Fault(502, "Bad Gateway", chat_id=STAFF_CHAT),
        Fault(429, "Too Many Requests: retry after 30", retry_after=30, chat_id=STAFF_CHAT),
        Fault(403, "Forbidden: bot is not a member of the group chat", chat_id=STAFF_CHAT),
    ]
    for fault in outage * 100:
        telegram.fail_next("sendMessage", fault)
    async with running_bot(settings, clock):
        for number, (csat, nps) in enumerate([("1", "3"), ("2", "9"), ("5", "0")]):
            patient = telegram.patient(710 + number)
            await answer_all(patient, csat, nps, None)
            assert "Thank you" in (await patient.next_message()).text
        # Ten minutes of virtual time with the staff chat refusing everything.
        for _ in range(10):
            clock.advance(minutes=1)
            await asyncio.sleep(0.2)
        attempts = sum(c.method == "sendMessage" and c.status != 200 for c in telegram.calls)
        assert staff_messages(telegram) == []
        telegram.faults["sendMessage"].clear()
        clock.advance(minutes=5)  # the longest back-off
        await telegram.wait_for(lambda: len(staff_messages(telegram)) == 3)
        await asyncio.sleep(0.3)  # a duplicate, if any, would come now
    alerts = staff_messages(telegram)
    assert len(alerts) == 3
    assert all("Status: completed" in alert.text for alert in alerts)
    assert {alert.text.count("<b>nps</b>") for alert in alerts} == {1}
    # Backed off, not hammering: a few tries a minute at first, then one every few minutes.
    assert 3 <= attempts <= 30


@pytest.mark.usefixtures("bot")
async def test_an_alert_staff_deleted_is_posted_again_with_the_latest_answers(
    telegram: FakeTelegram,
) -> None:
    patient = telegram.patient(720)
    await agree(patient)
    await patient.next_message()
    await patient.tap("1")
    first = await alert_showing(telegram, "<b>csat</b>: 1/5")
    await telegram.delete_message(STAFF_CHAT, first.message_id)
    await patient.next_message()
    await patient.tap("2")
    again = await alert_showing(telegram, "<b>nps</b>: 2/10")
    assert again.message_id != first.message_id
    assert "<b>csat</b>: 1/5" in again.text


async def test_an_alert_whose_send_timed_out_is_sent_again_saying_it_may_be_a_repeat(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    # Telegram posts the alert but answers after the bot's 5-second timeout.
    telegram.answer_late("sendMessage", 6, chat_id=STAFF_CHAT)
    async with running_bot(settings, clock):
        patient = telegram.patient(730)
        await agree(patient)
        await patient.next_message()
        await patient.tap("1")
        await telegram.wait_for(lambda: len(staff_messages(telegram)) == 1)
        await asyncio.sleep(6)  # the bot gives up waiting for the answer
        clock.advance(seconds=2)
        await telegram.wait_for(lambda: len(staff_messages(telegram)) == 2)
        # The copy kept up to date keeps saying it may be a repeat.
        await patient.next_message()
        await patient.tap("3")
        await telegram.wait_for(lambda: "<b>nps</b>" in staff_messages(telegram)[1].text)
    first, second = staff_messages(telegram)
    assert REPEAT_NOTE not in first.text
    assert REPEAT_NOTE in second.text
    assert second.edits == 1
