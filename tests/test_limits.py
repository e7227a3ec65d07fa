"""Input from the client is held to what the bot itself sends: private taps, exact values."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.settings import Settings
from handlers.texts import CATALOGUES
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN_ID
from tests.storage_view import is_patient, stored_responses
from tests.test_patient_flow import agree

ENGLISH = CATALOGUES["en"]


@pytest.mark.usefixtures("bot")
async def test_a_tap_from_a_group_records_nothing_and_posts_nothing_there(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(901)
    await patient.send("/start")
    consent = await patient.next_message()
    [(_, agree_data), *_] = consent.buttons()
    group = telegram.in_group(patient, -100_901_901, "Family")
    tap = await group.press(consent, agree_data or "")
    await telegram.wait_for(lambda: tap["callback_query"]["id"] in telegram.callback_answers)
    assert patient.toast(tap) == ENGLISH.private_only
    assert telegram.messages_to(-100_901_901) == []
    assert not await is_patient(settings.db, 901)


@pytest.mark.usefixtures("bot")
async def test_i_agree_tapped_twice_welcomes_once(telegram: FakeTelegram) -> None:
    patient = telegram.patient(902)
    await patient.send("/start")
    consent = await patient.next_message()
    [(_, agree_data), *_] = consent.buttons()
    await patient.press(consent, agree_data or "")
    assert (await patient.next_message()).text == ENGLISH.choose_treatment
    second = await patient.press(consent, agree_data or "")
    await telegram.wait_for(lambda: second["callback_query"]["id"] in telegram.callback_answers)
    await asyncio.sleep(0.2)
    assert patient.unread() == []


@pytest.mark.usefixtures("bot")
async def test_a_button_value_the_bot_never_sent_is_refused(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(903)
    await agree(patient)
    question = await patient.next_message()
    five = next(data for label, data in question.buttons() if label.startswith("5"))
    assert five is not None
    forged = await patient.press(question, five.removesuffix("5") + "05")
    await telegram.wait_for(lambda: forged["callback_query"]["id"] in telegram.callback_answers)
    assert patient.toast(forged) == ENGLISH.use_buttons
    [response] = await stored_responses(settings.db)
    assert response.values == {}


@pytest.mark.usefixtures("bot")
async def test_a_provider_name_too_long_for_a_caption_still_gets_its_link_and_qr_code(
    telegram: FakeTelegram,
) -> None:
    admin = telegram.patient(ADMIN_ID)
    provider = "Dr_" + "Longname" * 150
    await admin.send(f"/invite filler {provider}")
    reply = await admin.next_message()
    assert reply.photo is not None
    assert len(reply.text) <= 1024
    assert re.search(r"t\.me/\w+\?start=[\w-]+", reply.text)


@pytest.mark.usefixtures("bot")
async def test_a_user_flooding_the_bot_does_not_hold_up_other_patients(
    telegram: FakeTelegram,
) -> None:
    flooder, patient = telegram.patient(904), telegram.patient(905)
    for number in range(300):
        await flooder.send(f"spam {number}")
    await patient.send("/start")
    assert "Nothing is stored until you tap" in (await patient.next_message()).text
    # A burst is answered (a person typing fast is not cut off); the rest is dropped unread.
    await telegram.wait_for(lambda: len(telegram.messages_to(904)) >= 20)
    await asyncio.sleep(0.5)  # time for any answer beyond the burst to arrive, were there one
    assert len(telegram.messages_to(904)) <= 25
