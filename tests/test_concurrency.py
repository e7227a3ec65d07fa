"""Many patients at once: nobody waits for anybody else, and nothing is mixed or lost."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.domain.models import ResponseStatus
from bot.settings import Settings
from handlers.texts import CATALOGUES
from storage.database import Database
from storage.responses import SqliteResponseStore
from tests.fake_telegram import FakeTelegram, Fault
from tests.harness import FakeClock, running_bot
from tests.storage_view import stored_responses
from tests.test_patient_flow import agree, answer_all

FLOOD = Fault(429, "Too Many Requests: retry after 1", retry_after=1)

PATIENTS = 50


def answers_of(number: int) -> tuple[int, int, str]:
    return number % 5 + 1, number % 11, f"Comment number {number} for the clinic"


@pytest.mark.usefixtures("bot")
async def test_fifty_patients_at_once_keep_their_own_answers(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async def one_patient(number: int) -> None:
        csat, nps, comment = answers_of(number)
        patient = telegram.patient(5000 + number)
        await answer_all(patient, str(csat), str(nps), comment)
        assert "Thank you" in (await patient.next_message(timeout=60)).text

    await asyncio.gather(*(one_patient(n) for n in range(PATIENTS)))

    database = await Database.open(settings.db)
    try:
        store = SqliteResponseStore(database)
        pseudonyms = {}
        for number in range(PATIENTS):
            patient = await store.get_patient(5000 + number)
            assert patient is not None
            pseudonyms[patient.pseudonym] = number
    finally:
        await database.close()

    responses = await stored_responses(settings.db)
    assert len(responses) == PATIENTS
    for response in responses:
        csat, nps, comment = answers_of(pseudonyms[response.patient_pseudonym])
        assert response.values == {"csat": csat, "nps": nps, "comment": comment}

    for number in range(PATIENTS):
        chat = telegram.messages_to(5000 + number)
        # Every keyboard a patient saw belongs to their own single response.
        response_ids = {
            data.split(":")[1]
            for m in chat
            for _, data in m.buttons(as_sent=True)
            if data and data.startswith("a:")
        }
        assert len(response_ids) == 1
        assert sum("Comment number" in m.text for m in chat) == 0


async def test_a_patient_whose_messages_are_slow_holds_up_nobody_else(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock):
        slow, other = telegram.patient(6001), telegram.patient(6002)
        for patient in (slow, other):
            await agree(patient)
            assert (await patient.next_message()).text.startswith("Question 1 of 3")
        # Telegram takes five seconds over the slow patient's next question.
        telegram.carry_out_late("sendMessage", 5, chat_id=slow.chat_id)
        slow_tap = asyncio.create_task(slow.tap("4"))
        await telegram.wait_for(lambda: not telegram.faults["sendMessage"])
        await other.tap("5")
        assert (await other.next_message()).text.startswith("Question 2 of 3")
        assert slow.unread() == []  # still on its way, and nobody waited for it
        assert (await slow.next_message()).text.startswith("Question 2 of 3")
        await slow_tap


async def test_flood_control_on_a_patients_question_is_waited_out_and_the_question_comes(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock):
        patient = telegram.patient(6003)
        await agree(patient)
        assert (await patient.next_message()).text.startswith("Question 1 of 3")
        telegram.fail_next("sendMessage", replace(FLOOD, chat_id=6003))
        await patient.tap("4")
        # No /start needed: the bot waited as Telegram asked, then sent it, once.
        assert (await patient.next_message()).text.startswith("Question 2 of 3")
        await patient.tap("9")
        assert (await patient.next_message()).text.startswith("Question 3 of 3")
        assert sum(m.text.startswith("Question 2") for m in telegram.messages_to(6003)) == 1


async def test_advice_and_thanks_a_fault_held_back_arrive_after_a_restart_in_order(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    patient = telegram.patient(6004)
    async with running_bot(settings, clock):
        await agree(patient)
        for answer in ("2", "3"):
            await patient.next_message()
            await patient.tap(answer)
        assert (await patient.next_message()).text.startswith("Question 3 of 3")
        # Telegram fails on the advice the comment makes owed; the bot then stops.
        telegram.fail_next("sendMessage", Fault(502, "Bad Gateway", chat_id=6004))
        await patient.send("My lip is still swollen and blistering after two weeks")
        await telegram.wait_for(lambda: not telegram.faults["sendMessage"])
    assert patient.unread() == []
    clock.advance(seconds=5)
    async with running_bot(settings, clock):
        advice, thanks = await patient.next_message(), await patient.next_message()
        assert advice.text == CATALOGUES["en"].safety_advice
        assert thanks.text.startswith("Thank you!")
        offer = await patient.next_message()  # the scores were low
        assert offer.text == CATALOGUES["en"].call_offer.format(clinic="Glow Aesthetics")
        await asyncio.sleep(0.3)  # a few more rounds of the sender: nothing is sent twice
    assert patient.unread() == []
    [response] = await stored_responses(settings.db)
    assert response.status is ResponseStatus.COMPLETED
