"""A reply answers the question the patient was shown, never one that did not arrive."""

from __future__ import annotations

import asyncio

import pytest

from bot.settings import Settings
from handlers.texts import CATALOGUES
from tests.fake_telegram import FakeTelegram, Fault, SentMessage
from tests.harness import STAFF_CHAT, FakeClock
from tests.storage_view import stored_responses
from tests.test_patient_flow import agree


def button(message: SentMessage, label: str) -> str:
    """The callback data of the button whose label starts with `label`, as first sent."""
    return next(d or "" for text, d in message.buttons(as_sent=True) if text.startswith(label))


FLOOD = Fault(429, "Too Many Requests: retry after 1", retry_after=1)


@pytest.mark.usefixtures("bot")
async def test_a_retyped_number_is_not_taken_for_a_question_that_never_arrived(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(801)
    await agree(patient)
    assert (await patient.next_message()).text.startswith("Question 1 of 3")
    # The next question is refused by Telegram, and so is the apology after it.
    telegram.fail_next("sendMessage", FLOOD, times=2)
    await patient.send("5")
    await telegram.wait_for(lambda: not telegram.faults["sendMessage"])
    # The patient saw nothing, so types the same number again.
    await patient.send("5")
    question = await patient.next_message()
    assert question.text.startswith("Question 2 of 3")
    [response] = await stored_responses(settings.db)
    assert response.values == {"csat": 5}  # no false detractor...
    assert telegram.messages_to(STAFF_CHAT) == []  # ...and no false alert
    await patient.send("9")
    assert (await patient.next_message()).text.startswith("Question 3 of 3")
    [response] = await stored_responses(settings.db)
    assert response.values == {"csat": 5, "nps": 9}


@pytest.mark.usefixtures("bot")
async def test_tapping_an_answered_button_again_sends_the_question_that_never_arrived(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(802)
    await agree(patient)
    first = await patient.next_message()
    telegram.fail_next("sendMessage", FLOOD, times=2)
    await patient.press(first, button(first, "4"))  # "4"
    await telegram.wait_for(lambda: not telegram.faults["sendMessage"])
    await patient.press(first, button(first, "4"))
    assert (await patient.next_message()).text.startswith("Question 2 of 3")
    [response] = await stored_responses(settings.db)
    assert response.values == {"csat": 4}


@pytest.mark.usefixtures("bot")
async def test_a_button_tapped_twice_after_the_next_question_arrived_is_already_answered(
    telegram: FakeTelegram,
) -> None:
    patient = telegram.patient(803)
    await agree(patient)
    first = await patient.next_message()
    await patient.press(first, button(first, "4"))
    assert (await patient.next_message()).text.startswith("Question 2 of 3")
    tap = await patient.press(first, button(first, "4"))
    await telegram.wait_for(lambda: tap["callback_query"]["id"] in telegram.callback_answers)
    assert patient.toast(tap) == CATALOGUES["en"].already_answered
    assert patient.unread() == []


@pytest.mark.usefixtures("bot")
async def test_a_number_typed_again_before_the_next_question_existed_is_not_its_answer(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(804)
    await agree(patient)
    assert (await patient.next_message()).text.startswith("Question 1 of 3")
    # Telegram is slow to post the next question; the patient, seeing nothing, types the
    # same number again at once.
    telegram.carry_out_late("sendMessage", 0.5, chat_id=804)
    await patient.send("5")
    await telegram.wait_for(
        lambda: any(c.params.get("chat_id") == 804 for c in telegram.calls[-1:])
    )
    await patient.send("5")
    assert (await patient.next_message()).text.startswith("Question 2 of 3")
    # The second "5" was sent before question 2 existed (Telegram numbered it lower): it is
    # not the NPS, and question 2, already below it, is not sent twice.
    await patient.send("9")
    assert (await patient.next_message()).text.startswith("Question 3 of 3")
    [response] = await stored_responses(settings.db)
    assert response.values == {"csat": 5, "nps": 9}
    assert sum(m.text.startswith("Question 2") for m in telegram.messages_to(804)) == 1


@pytest.mark.usefixtures("bot")
async def test_a_question_cut_off_by_a_fault_comes_without_the_patient_asking(
    telegram: FakeTelegram, clock: FakeClock
) -> None:
    patient = telegram.patient(805)
    await agree(patient)
    assert (await patient.next_message()).text.startswith("Question 1 of 3")
    telegram.fail_next("sendMessage", FLOOD, times=2)  # the next question, and the apology
    await patient.send("4")
    await telegram.wait_for(lambda: not telegram.faults["sendMessage"])
    clock.advance(seconds=11)  # the answer has been quiet long enough: the question is owed
    assert (await patient.next_message()).text.startswith("Question 2 of 3")
    clock.advance(seconds=11)
    await asyncio.sleep(0.3)
    assert patient.unread() == []  # delivered once, not again


@pytest.mark.usefixtures("bot")
async def test_the_bot_keeps_listening_when_fetching_updates_fails(
    telegram: FakeTelegram,
) -> None:
    telegram.fail_next("getUpdates", Fault(502, "Bad Gateway"), times=2)
    patient = telegram.patient(806)
    await patient.send("/start")
    assert "Nothing is stored until you tap" in (await patient.next_message()).text
