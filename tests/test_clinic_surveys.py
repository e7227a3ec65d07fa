"""A clinic's own survey file: every question type, branching, and the patient's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.surveys import load_catalog
from bot.settings import Settings
from tests.fake_telegram import FakeTelegram, Person
from tests.harness import ADMIN_ID, STAFF_CHAT, FakeClock, running_bot
from tests.storage_view import stored_responses
from tests.test_surveys import ROLES

EVERY_TYPE = """
default_language = "en"

[[surveys]]
id = "everything"
title = "All the types"

[[surveys.questions]]
id = "ease"
type = "rating"
scale_min = 0
scale_max = 3
labels = ["Hard", "So-so", "Easy", { en = "Very easy", es = "Muy fácil" }]
text = { en = "How easy was booking?", es = "¿Fue fácil reservar?" }

[[surveys.questions]]
id = "nps"
type = "nps"
text = "Would you recommend us?"

[[surveys.questions]]
id = "area"
type = "choice"
text = "Which area did we treat?"
options = [{ id = "face", label = "Face" }, { id = "body", label = "Body" }]

[[surveys.questions]]
id = "areas"
type = "multiple_choice"
text = "Which did you notice?"
options = [
    { id = "lips", label = "Lips" },
    { id = "cheeks", label = "Cheeks" },
    { id = "forehead", label = "Forehead" },
]

[[surveys.questions]]
id = "again"
type = "yes_no"
text = "Would you come back?"

[[surveys.questions]]
id = "why_not"
type = "text"
max_length = 20
text = "Why not?"
show_if = { question = "again", equals = false }

[[surveys.questions]]
id = "note"
type = "text"
required = false
text = "Anything else?"
"""


@pytest.fixture
def clinic_settings(settings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "surveys.toml"
    path.write_text(EVERY_TYPE, "utf-8")
    return settings.model_copy(update={"surveys": path})


async def start(patient: Person) -> None:
    await patient.send("/start")
    await patient.next_message()
    await patient.tap("I agree")


async def through_areas(patient: Person) -> None:
    """Rating, NPS, choice and multiple choice, leaving the yes/no question unread."""
    ease = await patient.next_message()
    assert ease.text == "Question 1 of 7\n\nHow easy was booking?"
    assert [label for label, _ in ease.buttons()][:2] == ["3 · Very easy", "2 · Easy"]
    await patient.tap("2")
    await patient.next_message()
    await patient.tap("9")
    await patient.next_message()
    await patient.tap("Face")
    areas = await patient.next_message()
    assert "tap all that apply" in areas.text
    done = await patient.tap("Done ✓", areas)
    assert patient.toast(done) == "Please tick at least one option, then tap Done."
    await patient.tap("▫️ Lips", areas)
    await patient.tap("▫️ Forehead", areas)
    await patient.tap("✅ Lips", areas)  # changed their mind
    await patient.tap("▫️ Lips", areas)
    assert [label for label, _ in areas.buttons()][:3] == ["✅ Lips", "▫️ Cheeks", "✅ Forehead"]
    await patient.tap("Done ✓", areas)
    assert areas.text.endswith("✓ Your answer: Lips, Forehead")


async def test_every_question_type_and_the_branch_taken(
    telegram: FakeTelegram, clinic_settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(clinic_settings, clock):
        patient = telegram.patient(301)
        await start(patient)
        await through_areas(patient)
        again = await patient.next_message()
        assert again.text.startswith("Question 5 of 7")
        await patient.tap("No")
        why_not = await patient.next_message()
        assert why_not.text == "Question 6 of 7\n\nWhy not?"
        await patient.send("The parking is impossible, honestly")
        assert "longer than 20 characters" in (await patient.next_message()).text
        note = await patient.next_message()
        assert note.text.startswith("Question 7 of 7")
        await patient.tap("Skip")
        assert "Thank you" in (await patient.next_message()).text
    [response] = await stored_responses(clinic_settings.db)
    assert response.values == {
        "ease": 2,
        "nps": 9,
        "area": "face",
        "areas": "lips,forehead",
        "again": False,
        "why_not": "The parking is impos",
        "note": None,
    }


async def test_a_question_whose_condition_fails_is_left_out(
    telegram: FakeTelegram, clinic_settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(clinic_settings, clock):
        patient = telegram.patient(302)
        await start(patient)
        await through_areas(patient)
        await patient.next_message()
        await patient.send("yes")  # typed instead of tapped
        note = await patient.next_message()
        assert note.text == "Question 6 of 6\n\nAnything else?"
        await patient.send("All good")
        assert "Thank you" in (await patient.next_message()).text
    [response] = await stored_responses(clinic_settings.db)
    assert response.values["again"] is True
    assert "why_not" not in response.values


@pytest.mark.usefixtures("bot")
async def test_patients_are_spoken_to_in_their_telegram_language(telegram: FakeTelegram) -> None:
    spanish = telegram.patient(310, language="es")
    await spanish.send("/start")
    assert "No se guarda nada hasta que pulse «Acepto»" in (await spanish.next_message()).text
    await spanish.tap("Acepto")
    treatment = await spanish.next_message()
    assert treatment.text == "¿Qué tratamiento se hizo?"
    await spanish.tap("Relleno dérmico")
    question = await spanish.next_message()
    assert question.text == ("Pregunta 1 de 3\n\n¿Cómo fue su experiencia con nosotros hoy?")
    assert question.buttons()[0][0] == "5 · Excelente"

    french = telegram.patient(311, language="fr")  # not spoken: the clinic's language
    await french.send("/start")
    assert "Nothing is stored until you tap" in (await french.next_message()).text


async def test_language_switch_before_and_during_a_survey_is_remembered(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock):
        patient = telegram.patient(312, language="en")
        await patient.send("/language")
        await patient.next_message()
        await patient.tap("Español")
        assert "Acepto" in [label for label, _ in (await patient.next_message()).buttons()]
        await patient.tap("Acepto")  # consent stores the language chosen before it
        await patient.next_message()
        await patient.tap("Relleno dérmico")
        assert (await patient.next_message()).text.startswith("Pregunta 1 de 3")
        await patient.send("/language")
        picker = await patient.next_message()
        await patient.tap("English", picker)
        assert picker.text == "I'll speak English from now on."  # the picker, replaced
        assert (await patient.next_message()).text.startswith("Question 1 of 3")
        await patient.send("/language")
        await patient.next_message()
        await patient.tap("Español")
        assert (await patient.next_message()).text.startswith("Pregunta 1 de 3")
    async with running_bot(settings, clock):
        await patient.send("/help")
        assert "Recojo su opinión" in (await patient.next_message()).text


async def test_survey_texts_fall_back_to_the_clinic_language_and_staff_read_it(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "surveys.toml"
    path.write_text(
        'default_language = "es"\n[[surveys]]\nid = "breve"\ntitle = "Breve"\n'
        '[[surveys.questions]]\nid = "csat"\ntype = "rating"\n'
        'text = { es = "¿Qué tal fue?" }\n',
        "utf-8",
    )
    assert load_catalog(path).default_language == "es"
    async with running_bot(settings.model_copy(update={"surveys": path}), clock):
        german = telegram.patient(320, language="de")
        await german.send("/start")
        assert "«Acepto»" in (await german.next_message()).text
        english = telegram.patient(321, language="en")
        await english.send("/start")
        await english.next_message()
        await english.tap("I agree")
        assert (await english.next_message()).text == "Question 1 of 1\n\n¿Qué tal fue?"
        await english.tap("1")
        admin = telegram.patient(ADMIN_ID, language="en")
        await admin.send("/summary")
        assert "Resumen de opiniones" in (await admin.next_message()).text


async def test_alerts_and_the_summary_read_the_roles_not_the_ids(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "roles.toml"
    path.write_text(ROLES, "utf-8")
    async with running_bot(settings.model_copy(update={"surveys": path}), clock):
        patient = telegram.patient(310)
        await start(patient)
        assert (await patient.next_message()).text.startswith("Question 1 of 3")
        # Unhappy with the visit (the CSAT), happy to recommend, happy with the parking,
        # whose question happens to have the id `csat` but no role.
        for answer in ("1", "10", "5"):
            await patient.tap(answer)
            await patient.next_message()
        await telegram.wait_for(
            lambda: any("Thank you" in m.text for m in telegram.messages_to(310))
        )
        await telegram.wait_for(lambda: bool(telegram.messages_to(STAFF_CHAT)))
        [alert] = telegram.messages_to(STAFF_CHAT)
        assert "low satisfaction score" in alert.text
        assert "NPS" not in alert.text.split("Why:")[1].splitlines()[0]
        admin = telegram.patient(ADMIN_ID)
        await admin.send("/summary all")
        summary = (await admin.next_message()).text
    assert "CSAT: 1.00 / 5" in summary
    assert "NPS: +100" in summary
