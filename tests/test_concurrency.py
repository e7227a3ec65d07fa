"""Many patients at once never see each other's questions or mix answers."""

from __future__ import annotations

import asyncio

import pytest

from bot.fake_telegram import FakeTelegram
from bot.settings import Settings
from storage.database import Database
from storage.responses import SqliteResponseStore
from tests.storage_view import stored_responses
from tests.test_patient_flow import answer_all

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
