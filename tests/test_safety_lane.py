"""The safety lane in patients' own words, Spanish read as well as English, and complaints
that carry no sentiment word."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest

from bot.domain.models import SentimentLabel
from bot.sentiment import ClinicScorer
from bot.sentiment.lexicon import Lexicon, LexiconError, lexicon
from handlers.texts import CATALOGUES
from tests.fake_telegram import FakeTelegram
from tests.harness import STAFF_CHAT
from tests.test_cli import run_cli
from tests.test_patient_flow import answer_all

NEGATIVE, NEUTRAL, POSITIVE = (
    SentimentLabel.NEGATIVE,
    SentimentLabel.NEUTRAL,
    SentimentLabel.POSITIVE,
)
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def scorer() -> ClinicScorer:
    return ClinicScorer()


# (text, the kind of complication staff should read), in English and in Spanish.
COMPLICATIONS = [
    ("After the laser I got a burn on my cheek and it has blistered", "burn or blister"),
    ("I got a burn from the laser", "burn or blister"),
    ("My skin blistered after the laser", "burn or blister"),
    ("the skin is blisterd and weeping", "burn or blister"),
    ("it's raw and there's a scab now", "burn or blister"),
    ("Me quemaron la cara con el láser y tengo ampollas", "burn or blister"),
    ("tengo ampoyas en la mejilla", "burn or blister"),
    ("there's pus and it looks infected", "signs of infection"),
    ("the area is hot and red and I have a fever", "signs of infection"),
    ("think it's got an infecion", "signs of infection"),
    ("la zona está roja y caliente y tengo fiebre", "signs of infection"),
    ("The skin around the filler turned white and it hurts", "skin colour change (circulation)"),
    ("my lip looks mottled and dusky", "skin colour change (circulation)"),
    ("la piel se puso blanca después del relleno", "skin colour change (circulation)"),
    ("blurry vision in my left eye since yesterday", "vision change"),
    ("I'm seeing double", "vision change"),
    ("veo borroso desde ayer", "vision change"),
    ("My eyelid is drooping since the Botox", "drooping lid, brow or face"),
    ("my brow feels heavy and my smile is crooked", "drooping lid, brow or face"),
    ("se me cayó el párpado", "drooping lid, brow or face"),
    ("I can't swallow properly since the filler", "trouble breathing or swallowing"),
    ("my throat feels tight", "trouble breathing or swallowing"),
    ("me cuesta respirar", "trouble breathing or swallowing"),
    ("I came out in hives and went to the emergency room", "allergic reaction"),
    ("tuve una reacción alérgica y acabé en urgencias", "allergic reaction"),
    ("There is a lump on my lip", "hard or painful lump"),
    ("a hard lump under the skin that hurts", "hard or painful lump"),
    ("tengo un bulto duro en el labio", "hard or painful lump"),
    ("the rash is spreading down my neck", "spreading rash"),
    ("me sale una erupción que se extiende por el cuello", "spreading rash"),
    ("new dark patches on my cheeks after the IPL", "new dark patches"),
    ("me han salido manchas oscuras nuevas", "new dark patches"),
    ("my lip is still numb", "numbness"),
    ("tengo el labio dormido desde hace una semana", "numbness"),
    ("Pain is getting worse every day", "severe or worsening pain"),
    ("the pain is unbearable", "severe or worsening pain"),
    ("el dolor va a peor cada día", "severe or worsening pain"),
    ("Still swollen two weeks after the filler", "swelling that lasts or grows"),
    ("the swelling hasn't gone down after 2 weeks", "swelling that lasts or grows"),
    ("sigo con la cara hinchada dos semanas después", "swelling that lasts or grows"),
    ("it keeps bleeding", "bleeding that does not stop"),
    ("no para de sangrar", "bleeding that does not stop"),
    ("I had a terrible reaction to the filler", "a bad reaction"),
    ("tuve una reacción muy fuerte al relleno", "a bad reaction"),
    ("swollen, bruised, sore and itchy everywhere", "several symptoms at once"),
    ("estoy hinchada, con moretones, me duele y me pica", "several symptoms at once"),
]


@pytest.mark.parametrize(("text", "kind"), COMPLICATIONS)
def test_complications_in_plain_words_reach_the_safety_lane(
    scorer: ClinicScorer, text: str, kind: str
) -> None:
    result = scorer.score(text)
    assert "safety" in result.topics, result
    assert any(
        r.startswith("possible complication: ") and r.endswith(f"({kind})") for r in result.reasons
    ), result


@pytest.mark.parametrize(
    "text",
    [
        "No bleeding, no infection, all good",
        "no bruising at all",
        "no bruising, swelling or redness",
        "I don't have any bruising or swelling",
        "Bleeding: none",
        "sin hinchazón",
        "No tengo hinchazón ni moretones",
        "sin hinchazon y sin moretones, genial",
        "They told me about the risk of infection",
        "I was worried about drooping but everything looks natural",
        "Tenía miedo de que me quedara la ceja caída pero todo perfecto",
    ],
)
def test_denied_complications_are_not_alerts(scorer: ClinicScorer, text: str) -> None:
    assert "safety" not in scorer.score(text).topics


@pytest.mark.parametrize(
    "text",
    [
        "a little redness for an hour, fine now",
        "Swelling went down after a day",
        "some bruising, as expected",
        "a bit of swelling still, otherwise great",
        "numb for an hour after the cream",
        "my lips are a bit swollen",
        "un poco de enrojecimiento durante una hora, ya está bien",
        "la hinchazón ya bajó al día siguiente",
        "tengo los labios un poco hinchados",
        "The wait was horrible and I have some swelling",
    ],
)
def test_expected_mild_effects_that_pass_are_not_alerts(scorer: ClinicScorer, text: str) -> None:
    assert "safety" not in scorer.score(text).topics


def test_a_comment_in_a_language_the_bot_does_not_read_still_reaches_the_lane(
    scorer: ClinicScorer,
) -> None:
    result = scorer.score("Die Behandlung war schrecklich, the skin has blistered")
    assert "safety" in result.topics


COMPLAINTS = [
    ("Waited 45 minutes past my appointment time and nobody apologized", "a long wait", "wait"),
    ("one side is clearly fuller than the other", "uneven or no result", "results"),
    ("it was way more than the price quoted", "charged more than quoted", "price"),
    ("the confirmation never came", "something promised never came", "booking"),
    ("Esperé 45 minutos después de la hora de mi cita", "a long wait", "wait"),
    ("un lado está más lleno que el otro", "uneven or no result", "results"),
    ("me cobraron más de lo presupuestado", "charged more than quoted", "price"),
    ("la confirmación nunca llegó", "something promised never came", "booking"),
]


@pytest.mark.parametrize(("text", "reason", "topic"), COMPLAINTS)
def test_complaints_without_sentiment_words_are_negative_and_say_why(
    scorer: ClinicScorer, text: str, reason: str, topic: str
) -> None:
    result = scorer.score(text)
    assert result.label is NEGATIVE, result
    assert topic in result.topics
    assert any(r.startswith("complaint: ") and r.endswith(f"({reason})") for r in result.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "I only waited 5 minutes, lovely staff",
        "I only waited ten minutes, lovely staff",
        "La espera fue de cinco minutos, muy bien",
    ],
)
def test_a_short_wait_is_not_a_complaint(scorer: ClinicScorer, text: str) -> None:
    assert scorer.score(text).label is not NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "Oh great, another 45 minutes in the waiting room. Loved it.",
        "Qué bien, otros 45 minutos en la sala de espera. Me encantó.",
    ],
)
def test_sarcasm_does_not_turn_a_complaint_positive(scorer: ClinicScorer, text: str) -> None:
    result = scorer.score(text)
    assert result.label is NEGATIVE
    assert any(r.startswith("sarcasm: ") for r in result.reasons)


def _spanish_comments() -> list[tuple[str, SentimentLabel]]:
    with (DATA / "comments_es.csv").open(encoding="utf-8", newline="") as file:
        return [(row["text"], SentimentLabel(row["label"])) for row in csv.DictReader(file)]


def test_spanish_comments_are_read_not_skipped(scorer: ClinicScorer) -> None:
    """On the team's Spanish clinic comments: no `unknown`, and most unhappy ones caught."""
    comments = _spanish_comments()
    results = [(scorer.score(text, "es"), label) for text, label in comments]
    assert all(result.label is not SentimentLabel.UNKNOWN for result, _ in results)
    flagged = [label for result, label in results if result.label is NEGATIVE]
    unhappy = sum(label is NEGATIVE for _, label in comments)
    assert flagged.count(NEGATIVE) / unhappy >= 0.8  # recall
    assert flagged.count(NEGATIVE) / len(flagged) >= 0.8  # precision


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("El tratamiento fue horrible y la enfermera muy grosera", NEGATIVE),
        ("No me gustó nada el resultado", NEGATIVE),
        ("La enfermera fue amable pero los labios me quedaron desiguales", NEGATIVE),
        ("Me encanta el resultado y se ve muy natural", POSITIVE),
        ("No volveré nunca más", NEGATIVE),
        ("Tuve la cita el martes", NEUTRAL),
    ],
)
def test_spanish_sentiment_labels(scorer: ClinicScorer, text: str, label: SentimentLabel) -> None:
    result = scorer.score(text)
    assert result.label is label, result
    if label is not NEUTRAL:
        assert result.reasons, "staff should see why"


def test_the_patients_language_decides_a_comment_too_short_to_tell(scorer: ClinicScorer) -> None:
    assert scorer.score("Fatal", "es").label is NEGATIVE
    assert scorer.score("Fatal", "es").reasons[0].startswith("fatal")
    # Written in English by a patient who chose Spanish: read as English.
    assert scorer.score("The nurse was rude and the wait was awful", "es").label is NEGATIVE


def test_the_command_line_reads_a_short_comment_in_the_language_given(tmp_path: Path) -> None:
    spanish = run_cli(tmp_path, "sentiment", "--lang", "es", "Fatal, nadie me llamó")
    assert spanish.returncode == 0, spanish.stderr
    assert '"label": "negative"' in spanish.stdout
    assert "complaint: nadie me llamó" in spanish.stdout
    refused = run_cli(tmp_path, "sentiment", "--lang", "fr", "Nul")
    assert refused.returncode == 2
    assert "invalid choice: 'fr'" in refused.stderr


def test_every_built_in_lexicon_loads_and_names_what_staff_read_as_english_does() -> None:
    english = lexicon("en")
    spanish = lexicon("es")
    for category_id, category in spanish.categories.items():
        assert category_id in english.categories, category_id
        assert category.label == english.categories[category_id].label
    assert set(spanish.data.topics) == set(english.data.topics)
    english_reasons = {c.topic: c.reason for c in english.data.complaints}
    assert {c.topic: c.reason for c in spanish.data.complaints} == english_reasons


def _broken(change: str) -> str:
    """The built-in English file with a line changed (`language = ...`) or tables appended."""
    text = (Path(__file__).resolve().parent.parent / "bot/sentiment/data/en.toml").read_text(
        "utf-8"
    )
    assert tomllib.loads(text)["language"] == "en"
    if change.startswith("language"):
        return text.replace('language = "en"', change, 1)
    return f"{text}\n{change}\n"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ('language = "english"', "language: String should match pattern"),
        ('language = "en"\nunknown_key = 1', "unknown_key: Extra inputs are not permitted"),
        (
            '[[complaints]]\ntopic = "parking"\nreason = "x"\npatterns = ["y"]',
            "complaints name unknown topics ['parking']",
        ),
        (
            '[[complaints]]\ntopic = "wait"\nreason = "x"\npatterns = [".. late"]',
            "'..' must stand between two words",
        ),
        (
            '[[complaints]]\ntopic = "wait"\nreason = "x"\npatterns = ["(late)"]',
            "cannot read '(late)'",
        ),
        ("broken = [", "not valid TOML"),
    ],
)
def test_a_broken_lexicon_file_is_refused_with_a_clear_message(change: str, problem: str) -> None:
    with pytest.raises(LexiconError, match=r"^en\.toml: ") as raised:
        Lexicon.parse(_broken(change), "en.toml")
    assert problem in str(raised.value)


@pytest.mark.usefixtures("bot")
async def test_a_complication_in_spanish_raises_the_clinical_alert_and_answers_in_spanish(
    telegram: FakeTelegram,
) -> None:
    patient = telegram.patient(611, language="es")
    await patient.send("/start")
    await patient.next_message()
    await patient.tap(CATALOGUES["es"].consent_agree)
    await patient.next_message()
    await patient.tap("Láser o luz pulsada")
    await patient.next_message()
    await patient.tap("4")
    await patient.next_message()
    await patient.tap("8")
    await patient.next_message()
    await patient.send("Me quemaron la cara con el láser y tengo ampollas")
    assert (await patient.next_message()).text == CATALOGUES["es"].safety_advice
    await telegram.wait_for(lambda: bool(telegram.messages_to(STAFF_CHAT)))
    [alert] = telegram.messages_to(STAFF_CHAT)
    # Staff read the clinic's language (English here) and the patient's own words.
    assert alert.text.startswith(CATALOGUES["en"].alert_clinical_title.split(" — ")[0])
    assert "possible complication: Me quemaron (burn or blister)" in alert.text
    assert (
        "<blockquote>Me quemaron la cara con el láser y tengo ampollas</blockquote>" in alert.text
    )


@pytest.mark.usefixtures("bot")
async def test_a_burn_in_plain_english_raises_the_clinical_alert(telegram: FakeTelegram) -> None:
    patient = telegram.patient(612)
    await answer_all(
        patient, "4", "9", "After the laser I got a burn on my cheek and it has blistered"
    )
    assert (await patient.next_message()).text == CATALOGUES["en"].safety_advice
    await telegram.wait_for(lambda: bool(telegram.messages_to(STAFF_CHAT)))
    [alert] = telegram.messages_to(STAFF_CHAT)
    assert alert.text.startswith("🚨 <b>Possible complication — clinical follow-up</b>")
    assert "possible complication: burn (burn or blister)" in alert.text


@pytest.mark.usefixtures("bot")
async def test_a_complaint_without_sentiment_words_alerts_staff_with_its_reason(
    telegram: FakeTelegram,
) -> None:
    patient = telegram.patient(613)
    await answer_all(patient, "4", "8", "the confirmation never came")
    assert "Thank you!" in (await patient.next_message()).text
    await telegram.wait_for(lambda: bool(telegram.messages_to(STAFF_CHAT)))
    [alert] = telegram.messages_to(STAFF_CHAT)
    assert alert.text.startswith("⚠️ <b>Patient needs a follow-up</b>")
    assert "complaint: never came (something promised never came)" in alert.text
