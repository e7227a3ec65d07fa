"""Patients who type a button's words, and what the clinic's name and language look like."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from handlers.texts.en import ENGLISH as EN
from tests.fake_telegram import FakeTelegram, Person
from tests.harness import STAFF_CHAT, FakeClock, make_settings, running_bot
from tests.storage_view import stored_responses


async def agree(telegram: FakeTelegram, user_id: int, language: str = "en") -> Person:
    """A patient who has agreed and is asked the treatment."""
    patient = telegram.patient(user_id, language=language)
    await patient.send("/start")
    consent = await patient.next_message()
    await patient.tap(consent.buttons()[0][0], consent)  # "I agree", in their language
    await patient.next_message()  # which treatment?
    return patient


@pytest.mark.usefixtures("bot")
@pytest.mark.parametrize(
    "case",
    [
        ("en", "Botox", "Poor", ("neuromodulator", 2)),
        ("en", "lip filler", "very POOR", ("filler", 1)),
        ("es", "relleno", "mala", ("filler", 2)),
        ("es", "Bótox", "Muy mala", ("neuromodulator", 1)),
        ("en", "laser hair removal", "excelente", ("laser", 5)),  # a label in the other language
    ],
)
async def test_a_patient_may_type_a_buttons_words_in_any_case_or_language(
    telegram: FakeTelegram, settings: Settings, case: tuple[str, str, str, tuple[str, int]]
) -> None:
    language, treatment, csat, stored = case
    patient = await agree(telegram, 701, language)
    await patient.send(treatment)
    assert (await patient.next_message()).text.startswith(("Question 1 of 3", "Pregunta 1 de 3"))
    await patient.send(csat)
    assert (await patient.next_message()).text.startswith(("Question 2 of 3", "Pregunta 2 de 3"))
    [response] = await stored_responses(settings.db)
    assert response.visit is not None
    assert (response.visit.treatment, response.values["csat"]) == stored


@pytest.mark.usefixtures("bot")
async def test_words_that_name_no_button_still_get_the_hint(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = await agree(telegram, 702)
    await patient.send("Botax")  # no treatment goes by it
    assert (await patient.next_message()).text == EN.use_buttons
    [response] = await stored_responses(settings.db)
    assert response.visit is None


async def test_without_a_clinic_name_patients_read_our_clinic_in_their_language(
    telegram: FakeTelegram, database_location: object, clock: FakeClock
) -> None:
    settings = make_settings(telegram, database_location, clinic_name=None)  # type: ignore[arg-type]
    async with running_bot(settings, clock):
        english, spanish = telegram.patient(711), telegram.patient(712, language="es")
        await english.send("/start")
        await spanish.send("/start")
        consent_en = (await english.next_message()).text
        consent_es = (await spanish.next_message()).text
    assert consent_en.startswith("Hello! We would love to hear how your visit to our clinic went.")
    assert consent_es.startswith("¡Hola! En nuestra clínica nos gustaría saber")
    assert "our clinic" not in consent_es


@pytest.mark.usefixtures("bot")
async def test_a_spanish_patients_alert_tells_staff_to_call_back_in_spanish(
    telegram: FakeTelegram,
) -> None:
    patient = await agree(telegram, 721, "es")
    await patient.tap("Relleno dérmico")
    await patient.next_message()
    await patient.tap("1")
    await patient.next_message()
    await telegram.wait_for(lambda: bool(telegram.messages_to(STAFF_CHAT)))
    [alert] = telegram.messages_to(STAFF_CHAT)
    assert "🗣 The patient reads the bot in Spanish: call back in Spanish." in alert.text
    # An English-speaking patient's alert (the clinic's language) says nothing of it.
    other = await agree(telegram, 722, "en")
    await other.tap("Dermal filler")
    await other.next_message()
    await other.tap("1")
    await other.next_message()
    await telegram.wait_for(lambda: len(telegram.messages_to(STAFF_CHAT)) == 2)
    assert "reads the bot in" not in telegram.messages_to(STAFF_CHAT)[1].text
