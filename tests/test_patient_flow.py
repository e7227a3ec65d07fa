"""A patient gives feedback end to end, through the real Application and real HTTP."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.domain.models import ResponseStatus
from bot.settings import Settings
from handlers.registry import FeedbackApplication
from tests.databases import sqlite_file
from tests.fake_telegram import FakeTelegram, Fault, Person
from tests.harness import FakeClock, running_bot
from tests.storage_view import handled_everything, is_patient, stored_responses

TREATMENT = "Botox / neuromodulator"


async def agree(patient: Person, treatment: str = TREATMENT) -> None:
    """/start, tap "I agree" and pick the treatment; leaves the first question unread."""
    await patient.send("/start")
    consent = await patient.next_message()
    assert "Nothing is stored until you tap" in consent.text
    await patient.tap("I agree")
    assert (await patient.next_message()).text == "Which treatment did you have?"
    await patient.tap(treatment)


async def answer_all(
    patient: Person, csat: str, nps: str, comment: str | None, treatment: str = TREATMENT
) -> None:
    """The whole happy path: consent (the first time), two taps and a comment (or Skip)."""
    if any(
        "Nothing is stored until you tap" in m.text
        for m in patient.server.messages_to(patient.chat_id)
    ):
        await patient.send("/start")
        assert (await patient.next_message()).text == "Which treatment did you have?"
        await patient.tap(treatment)
    else:
        await agree(patient, treatment)
    assert (await patient.next_message()).text.startswith("Question 1 of 3")
    await patient.tap(csat)
    assert (await patient.next_message()).text.startswith("Question 2 of 3")
    await patient.tap(nps)
    assert (await patient.next_message()).text.startswith("Question 3 of 3")
    if comment is None:
        await patient.tap("Skip")
    else:
        await patient.send(comment)


@pytest.mark.usefixtures("bot")
async def test_patient_completes_the_survey_and_every_answer_is_stored(
    telegram: FakeTelegram, settings: Settings
) -> None:
    # A real-sized Telegram id: longer than the pseudonym's random part, so finding it in the
    # pseudonym could only mean the pseudonym was derived from it (a two-digit id is found by
    # chance about once in 150 runs).
    patient = telegram.patient(7_351_902_468)
    await answer_all(patient, "5", "10", "Lovely staff and a great result!")
    thanks = await patient.next_message()
    assert "Thank you" in thanks.text
    assert "Glow Aesthetics" in thanks.text

    [response] = await stored_responses(settings.db)
    assert response.status is ResponseStatus.COMPLETED
    assert response.values == {"csat": 5, "nps": 10, "comment": "Lovely staff and a great result!"}
    comment = next(a for a in response.answers if a.question_id == "comment")
    assert comment.sentiment is not None
    assert comment.sentiment.label.value == "positive"
    assert response.patient_pseudonym.startswith("P-")
    assert "7351902468" not in response.patient_pseudonym


@pytest.mark.usefixtures("bot")
async def test_comment_question_depends_on_the_score(telegram: FakeTelegram) -> None:
    unhappy, happy = telegram.patient(1), telegram.patient(2)
    for patient, score in ((unhappy, "2"), (happy, "5")):
        await agree(patient)
        await patient.next_message()
        await patient.tap(score)
        await patient.next_message()
        await patient.tap("8")
    assert "What could we have done better?" in (await unhappy.next_message()).text
    assert "What did you enjoy most" in (await happy.next_message()).text


@pytest.mark.usefixtures("bot")
async def test_a_tapped_keyboard_shows_the_choice_and_cannot_be_answered_twice(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(7)
    await agree(patient)
    question = await patient.next_message()
    await patient.tap("4", question)
    await patient.next_message()
    assert question.buttons() == []
    assert question.text.endswith("✓ Your answer: 4")

    # A phone that missed the edit still shows the keyboard: another tap changes nothing.
    again = await patient.tap("1", question, as_sent=True)
    assert patient.toast(again) == "You've already answered this question — thank you!"
    [response] = await stored_responses(settings.db)
    assert response.values == {"csat": 4}


@pytest.mark.usefixtures("bot")
async def test_declining_consent_stores_nothing(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(9)
    await patient.send("/start")
    await patient.next_message()
    await patient.tap("No, thanks")
    consent = telegram.messages_to(9)[0]
    assert "nothing was stored" in consent.text
    assert consent.buttons() == []
    assert not await is_patient(settings.db, 9)
    assert await stored_responses(settings.db) == []


@pytest.mark.usefixtures("bot")
async def test_cancel_keeps_answers_and_start_begins_anew(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(11)
    await agree(patient)
    await patient.next_message()
    await patient.tap("3")
    await patient.next_message()
    await patient.send("/cancel")
    assert "Survey stopped" in (await patient.next_message()).text
    await patient.send("/cancel")
    assert "nothing to cancel" in (await patient.next_message()).text

    # The old keyboard now belongs to a stopped survey.
    stale = await patient.tap("9")
    assert patient.toast(stale) == "That survey is finished. Send /start to give new feedback."

    await patient.send("/start")
    assert (await patient.next_message()).text == "Which treatment did you have?"
    first, second = await stored_responses(settings.db)
    assert first.status is ResponseStatus.ABANDONED
    assert first.values == {"csat": 3}
    assert second.status is ResponseStatus.IN_PROGRESS
    assert second.values == {}


@pytest.mark.usefixtures("bot")
async def test_start_in_the_middle_resumes_the_current_question(telegram: FakeTelegram) -> None:
    patient = telegram.patient(12)
    await agree(patient)
    await patient.next_message()
    await patient.tap("5")
    await patient.next_message()
    await patient.send("/start")
    assert "carry on" in (await patient.next_message()).text
    assert (await patient.next_message()).text.startswith("Question 2 of 3")


@pytest.mark.parametrize(("csat", "nps"), [("1", "0"), ("5", "10")])
async def test_review_link_is_offered_to_everyone_who_finishes(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock, csat: str, nps: str
) -> None:
    settings = settings.model_copy(update={"review_url": "https://g.page/r/glow/review"})
    async with running_bot(settings, clock):
        patient = telegram.patient(13)
        await answer_all(patient, csat, nps, None)
        assert "Thank you" in (await patient.next_message()).text
        invitation = await patient.next_message()
        if csat == "1":  # a low score is offered a call first, then asked like everyone
            assert "call you" in invitation.text
            invitation = await patient.next_message()
    assert "public review" in invitation.text
    assert invitation.url_buttons() == ["https://g.page/r/glow/review"]


@pytest.mark.usefixtures("bot")
async def test_no_review_invitation_without_a_review_link(telegram: FakeTelegram) -> None:
    patient = telegram.patient(14)
    await answer_all(patient, "5", "10", None)
    assert "Thank you" in (await patient.next_message()).text
    await patient.send("/help")
    assert "I collect feedback" in (await patient.next_message()).text


@pytest.mark.usefixtures("bot")
async def test_typed_answers_count_and_wrong_ones_get_a_hint(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(15)
    await agree(patient)
    await patient.next_message()
    for wrong in ("great", "6", "0", "😀", "4.5"):
        await patient.send(wrong)
        assert "tap one of the buttons" in (await patient.next_message()).text
        again = await patient.next_message()
        assert again.text.startswith("Question 1 of 3")
        assert [label for label, _ in again.buttons()] == [
            "5 · Excellent",
            "4 · Good",
            "3 · OK",
            "2 · Poor",
            "1 · Very poor",
        ]
    await patient.send(" 4 ")
    assert (await patient.next_message()).text.startswith("Question 2 of 3")
    await patient.send("10")
    assert (await patient.next_message()).text.startswith("Question 3 of 3")
    [response] = await stored_responses(settings.db)
    assert response.values == {"csat": 4, "nps": 10}


@pytest.mark.usefixtures("bot")
async def test_stickers_photos_voice_and_locations_get_a_reply_and_lose_nothing(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(16)
    await agree(patient)
    await patient.next_message()
    await patient.tap("2")
    await patient.next_message()
    sticker: dict[str, object] = {"file_id": "s", "file_unique_id": "s", "type": "regular"}
    sticker |= {"width": 512, "height": 512, "is_animated": False, "is_video": False}
    photo = [{"file_id": "p", "file_unique_id": "p", "width": 90, "height": 90}]
    voice = {"file_id": "v", "file_unique_id": "v", "duration": 3}
    document = {"file_id": "d", "file_unique_id": "d", "file_name": "x.pdf"}
    location = {"latitude": 40.4, "longitude": -3.7}
    contents: list[dict[str, object]] = [
        {"sticker": sticker},
        {"photo": photo, "caption": "look at this"},
        {"voice": voice},
        {"document": document},
        {"location": location},
    ]
    for content in contents:
        await patient.send_content(**content)
        assert "only read text messages" in (await patient.next_message()).text
        assert (await patient.next_message()).text.startswith("Question 2 of 3")
    [response] = await stored_responses(settings.db)
    assert response.values == {"csat": 2}


@pytest.mark.usefixtures("bot")
async def test_an_edited_answer_is_not_stored_and_the_patient_is_told(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(17)
    await answer_all(patient, "4", "9", "Good")
    sent = next(u for u in reversed(_updates(telegram, 17)) if "message" in u)
    assert "Thank you" in (await patient.next_message()).text
    await patient.edit(sent, "Actually it was awful")
    assert "edits aren't saved" in (await patient.next_message()).text
    [response] = await stored_responses(settings.db)
    assert response.values["comment"] == "Good"


def _updates(telegram: FakeTelegram, chat_id: int) -> list[dict[str, object]]:
    return [u for u in telegram.pushed if _chat_of(u) == chat_id]


def _chat_of(update: dict[str, object]) -> int | None:
    message = update.get("message") or update.get("edited_message")
    if isinstance(message, dict):
        return int(message["chat"]["id"])
    return None


@pytest.mark.usefixtures("bot")
async def test_a_6000_character_essay_is_kept_up_to_the_limit_and_the_patient_told(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(18)
    essay = ("The nurse was kind but the wait was long. " * 150)[:6000]
    await answer_all(patient, "3", "7", essay)
    assert "longer than 4000 characters" in (await patient.next_message()).text
    assert "Thank you" in (await patient.next_message()).text
    [response] = await stored_responses(settings.db)
    assert response.values["comment"] == essay.strip()[:4000]


@pytest.mark.usefixtures("bot")
async def test_emoji_only_comment_is_stored(telegram: FakeTelegram, settings: Settings) -> None:
    patient = telegram.patient(19)
    await answer_all(patient, "5", "10", "😍😍😍")
    assert "Thank you" in (await patient.next_message()).text
    [response] = await stored_responses(settings.db)
    assert response.values["comment"] == "😍😍😍"


@pytest.mark.usefixtures("bot")
async def test_commands_in_the_middle_of_a_survey(telegram: FakeTelegram) -> None:
    patient = telegram.patient(20)
    await agree(patient)
    await patient.next_message()
    await patient.send("/help")
    help_text = (await patient.next_message()).text
    assert "/cancel" in help_text
    assert "/summary" not in help_text  # staff commands are shown to staff only
    assert (await patient.next_message()).text.startswith("Question 1 of 3")
    await patient.send("/frobnicate")
    assert "don't know that command" in (await patient.next_message()).text
    await patient.tap("5")
    assert (await patient.next_message()).text.startswith("Question 2 of 3")


@pytest.mark.usefixtures("bot")
async def test_no_surveys_in_group_chats(telegram: FakeTelegram, settings: Settings) -> None:
    patient = telegram.patient(21)
    in_group = telegram.in_group(patient, -100_999, "Friends of Glow")
    await in_group.send("/start")
    assert "private chats only" in (await in_group.next_message()).text
    await in_group.send("5")
    await in_group.send("hello bot")
    await patient.send("/help")  # updates are handled in order, so the group's are done
    await patient.next_message()
    assert in_group.unread() == []
    assert not await is_patient(settings.db, 21)


@pytest.mark.usefixtures("bot")
async def test_the_same_update_delivered_twice_stores_one_answer(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(22)
    await agree(patient)
    await patient.next_message()
    tap = await patient.tap("4")
    await patient.next_message()
    await telegram.redeliver(tap)
    await patient.tap("8")
    await patient.next_message()
    comment = await patient.send("Fine, thanks")
    assert "Thank you" in (await patient.next_message()).text
    await telegram.redeliver(comment)
    await patient.send("/help")
    await patient.next_message()
    assert patient.unread() == []  # the redelivered comment got no second reply
    [response] = await stored_responses(settings.db)
    assert response.values == {"csat": 4, "nps": 8, "comment": "Fine, thanks"}


@pytest.mark.usefixtures("bot")
async def test_buttons_from_a_finished_survey_store_nothing(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(23)
    await answer_all(patient, "5", "9", "Great")
    first_question = next(
        m for m in telegram.messages_to(23) if m.text.startswith("Question 1 of 3")
    )
    late = await patient.tap("1", first_question, as_sent=True)
    assert patient.toast(late) is not None
    await patient.send("/start")
    await patient.next_message()
    late = await patient.tap("1", first_question, as_sent=True)
    assert patient.toast(late) is not None
    responses = await stored_responses(settings.db)
    assert responses[0].values == {"csat": 5, "nps": 9, "comment": "Great"}
    assert responses[1].values == {}


@pytest.mark.usefixtures("bot")
async def test_forged_buttons_are_refused(telegram: FakeTelegram, settings: Settings) -> None:
    victim, forger = telegram.patient(24), telegram.patient(25)
    await agree(victim)
    victim_question = await victim.next_message()
    [(_, data)] = [b for b in victim_question.buttons() if b[0].startswith("1 ·")]
    assert data is not None
    _, response_id, question_id, _ = data.split(":")
    await agree(forger)
    forger_question = await forger.next_message()
    forged = [
        f"a:{response_id}:{question_id}:1",  # someone else's survey
        f"a:{response_id}:nps:0",  # a question not reached yet
        "a:nonexistent:csat:1",
        "a:x:y",
        "consent:maybe",
        "🙂" * 16,
    ]
    for data in forged:
        update = await forger.press(forger_question, data)
        assert forger.toast(update) is not None
    own = forger_question.buttons(as_sent=True)[0][1]
    assert own is not None
    out_of_range = own.rsplit(":", 1)[0] + ":99"
    update = await forger.press(forger_question, out_of_range)
    assert forger.toast(update) is not None
    assert [r.values for r in await stored_responses(settings.db)] == [{}, {}]


@pytest.mark.usefixtures("bot")
async def test_forget_erases_everything_after_confirmation(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(26)
    await answer_all(patient, "2", "3", "Bruising everywhere")
    assert "Thank you" in (await patient.next_message()).text
    assert "call you" in (await patient.next_message()).text  # after a low score
    await patient.send("/forget")
    await patient.next_message()
    await patient.tap("No, keep it")
    assert await is_patient(settings.db, 26)
    await patient.send("/forget")
    await patient.next_message()
    await patient.tap("Yes, erase everything")
    assert "has been erased" in telegram.messages_to(26)[-1].text
    assert not await is_patient(settings.db, 26)
    assert await stored_responses(settings.db) == []
    await patient.send("/start")
    assert "Nothing is stored until you tap" in (await patient.next_message()).text


async def test_answers_are_deleted_after_the_retention_period_promised_at_consent(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    settings = settings.model_copy(update={"retention_days": 90})
    async with running_bot(settings, clock):
        patient = telegram.patient(27)
        await agree(patient)
        consent = telegram.messages_to(27)[0]
        assert "delete them automatically after 90 days" in consent.text
        await patient.next_message()
        await patient.tap("5")
        await patient.next_message()
    clock.advance(days=89)
    async with running_bot(settings, clock):
        pass
    assert len(await stored_responses(settings.db)) == 1
    clock.advance(days=2)
    async with running_bot(settings, clock):
        pass
    assert await stored_responses(settings.db) == []
    assert not await is_patient(settings.db, 27)


@pytest.mark.usefixtures("bot")
async def test_a_failed_reply_loses_no_answer_and_the_question_still_comes(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(28, language="es")
    await patient.send("/start")
    await patient.next_message()
    await patient.tap("Acepto")
    await patient.next_message()
    await patient.tap("Relleno dérmico")
    await patient.next_message()
    # Telegram fails once when the bot sends the next question.
    telegram.fail_next("sendMessage", Fault(500, "Internal Server Error", chat_id=28))
    await patient.tap("4")
    # The answer was stored first; the question it owes comes without the patient asking.
    assert (await patient.next_message()).text.startswith("Pregunta 2 de 3")
    assert patient.unread() == []
    [response] = await stored_responses(settings.db)
    assert response.values == {"csat": 4}


async def test_while_another_program_holds_the_database_taps_wait_and_none_is_lost(
    telegram: FakeTelegram, settings: Settings, bot: FeedbackApplication
) -> None:
    del bot
    patient = telegram.patient(29)
    await agree(patient)
    assert (await patient.next_message()).text.startswith("Question 1 of 3")
    await patient.tap("4")
    assert (await patient.next_message()).text.startswith("Question 2 of 3")
    await handled_everything(settings.db)  # the lock below is for the next update
    # A backup tool, say, holds the database longer than the bot's five-second busy wait.
    blocker = sqlite3.connect(
        sqlite_file(settings.db), isolation_level=None, check_same_thread=False
    )
    # In a thread: the bot may be finishing a write, which needs the event loop.
    await asyncio.to_thread(blocker.execute, "BEGIN EXCLUSIVE")
    try:
        typed = await patient.send("9")
        await asyncio.sleep(6)
        # Not stored, so not confirmed to Telegram either: it waits there.
        assert not telegram.confirmed(typed)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert (await patient.next_message(timeout=40)).text.startswith("Question 3 of 3")
    [response] = await stored_responses(settings.db)
    assert response.values == {"csat": 4, "nps": 9}


@pytest.mark.usefixtures("bot")
async def test_when_a_reply_fails_unexpectedly_the_patient_is_told_their_answers_are_safe(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(30)
    await agree(patient)
    for answer in ("4", "9"):
        await patient.next_message()
        await patient.tap(answer)
    assert (await patient.next_message()).text.startswith("Question 3 of 3")
    # The note that a long comment was cut fails: the handler stops there.
    telegram.fail_next("sendMessage", Fault(502, "Bad Gateway"))
    await patient.send("Lovely staff. " * 400)
    apology, thanks = await patient.next_message(), await patient.next_message()
    assert apology.text.startswith("Sorry, something went wrong on our side")
    # The thanks the answer made owed still comes.
    assert thanks.text.startswith("Thank you!")
    [response] = await stored_responses(settings.db)
    assert response.values["nps"] == 9
    assert str(response.values["comment"]).startswith("Lovely staff.")
