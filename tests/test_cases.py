"""Staff close the loop from the alert: claim, answer the patient, hear back, resolve."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.domain.schedule import SendHours
from bot.settings import Settings
from handlers.texts import CATALOGUES
from storage.database import Database
from tests.fake_telegram import FakeTelegram, Fault, Person, SentMessage
from tests.harness import ADMIN_ID, STAFF_CHAT, FakeClock, running_bot
from tests.test_patient_flow import answer_all

EN = CATALOGUES["en"]
SECOND_ADMIN = 778


def staff(telegram: FakeTelegram, user_id: int = ADMIN_ID, name: str = "Anna") -> Person:
    """A member of the staff group."""
    return telegram.in_group(telegram.patient(user_id, name), STAFF_CHAT)


async def unhappy_patient(telegram: FakeTelegram, user_id: int) -> Person:
    """A patient who finished with low scores (their alert is posted), read to the end."""
    patient = telegram.patient(user_id)
    await answer_all(patient, "1", "2", None)
    assert "Thank you" in (await patient.next_message()).text
    assert "call you" in (await patient.next_message()).text
    return patient


async def alert_when(telegram: FakeTelegram, condition: Callable[[str], bool]) -> SentMessage:
    """The staff chat's first message (the alert), once its text meets `condition`."""
    await telegram.wait_for(
        lambda: (
            bool(telegram.messages_to(STAFF_CHAT))
            and condition(telegram.messages_to(STAFF_CHAT)[0].text)
        )
    )
    return telegram.messages_to(STAFF_CHAT)[0]


async def staff_message_when(
    telegram: FakeTelegram, condition: Callable[[SentMessage], bool]
) -> SentMessage:
    """The latest staff-chat message meeting `condition`, once there is one."""
    await telegram.wait_for(lambda: any(condition(m) for m in telegram.messages_to(STAFF_CHAT)))
    return [m for m in telegram.messages_to(STAFF_CHAT) if condition(m)][-1]


def labels(message: SentMessage) -> list[str]:
    return [label for label, _ in message.buttons()]


async def case_messages(settings: Settings) -> list[tuple[str, str, str | None]]:
    db = await Database.open(settings.db)
    try:
        rows = await db.connection.rows(
            text("SELECT direction, body, author_name FROM case_messages ORDER BY id")
        )
        return [(row[0], row[1], row[2]) for row in rows]
    finally:
        await db.close()


@pytest.mark.usefixtures("bot")
async def test_staff_claim_reply_hear_back_and_resolve_with_a_note(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = await unhappy_patient(telegram, 501)
    anna = staff(telegram)
    alert = await alert_when(telegram, lambda text: "Status: completed" in text)
    assert labels(alert) == [EN.case_claim, EN.case_reply, EN.case_resolve]
    assert EN.case_unclaimed_line in alert.text

    claimed = await anna.tap(EN.case_claim, alert)
    assert anna.toast(claimed) == EN.case_claimed
    await alert_when(telegram, lambda text: "👤 Taken by Anna" in text)
    assert labels(alert) == [EN.case_reply, EN.case_resolve]  # nothing left to claim

    await anna.tap(EN.case_reply, alert)
    prompt = await staff_message_when(telegram, lambda m: "write your reply" in m.text)
    assert prompt.reply_markup == {"force_reply": True, "selective": True}
    await anna.send("So sorry, Pat. Could you come in on Thursday? It's on us.", reply_to=prompt)
    reply = await patient.next_message()
    assert reply.text == (
        "So sorry, Pat. Could you come in on Thursday? It's on us.\n\n— Glow Aesthetics"
    )
    assert "Anna" not in reply.text
    assert reply.parse_mode is None  # what staff type is never markup to the patient
    await staff_message_when(telegram, lambda m: m.text.startswith("✓ On its way to P-"))
    await alert_when(telegram, lambda text: "delivered ✓" in text)

    # The patient's next message goes to staff, under the alert, not to a survey.
    forged = "<b>Resolved</b> by Anna — no action needed"
    await patient.send(forged)
    assert (await patient.next_message()).text == EN.message_passed_on.format(
        clinic="Glow Aesthetics"
    )
    relayed = await staff_message_when(telegram, lambda m: "answered:" in m.text)
    assert relayed.reply_to == alert.message_id
    assert relayed.parse_mode == "HTML"
    assert f"<blockquote>{html.escape(forged)}</blockquote>" in relayed.text
    await alert_when(telegram, lambda text: "💬 Patient" in text)
    # Only the next message: after it, the patient is back to the survey bot.
    await patient.send("and one more thing")
    assert (await patient.next_message()).text == EN.no_survey

    resolved = await anna.tap(EN.case_resolve, alert)
    assert anna.toast(resolved) is None
    closed = await alert_when(telegram, lambda text: "Resolved</b> by Anna" in text)
    assert closed.buttons() == []
    note_prompt = await staff_message_when(telegram, lambda m: "one-line note" in m.text)
    await anna.send("Free touch-up booked for Thursday", reply_to=note_prompt)
    await alert_when(telegram, lambda text: "Free touch-up booked for Thursday" in text)

    assert await case_messages(settings) == [
        ("to_patient", "So sorry, Pat. Could you come in on Thursday? It's on us.", "Anna"),
        ("from_patient", forged, None),
    ]


@pytest.mark.usefixtures("bot")
async def test_a_telegram_reply_to_the_alert_goes_to_the_patient_without_tapping_reply(
    telegram: FakeTelegram,
) -> None:
    patient = await unhappy_patient(telegram, 502)
    alert = await alert_when(telegram, lambda text: "Status: completed" in text)
    await staff(telegram).send("We'll call you this afternoon.", reply_to=alert)
    assert (await patient.next_message()).text.startswith("We'll call you this afternoon.")
    # Answering claims the case for whoever answered.
    await alert_when(telegram, lambda text: "👤 Taken by Anna" in text)


@pytest.mark.usefixtures("bot")
async def test_after_tapping_reply_the_next_message_in_the_staff_chat_is_the_reply(
    telegram: FakeTelegram,
) -> None:
    patient = await unhappy_patient(telegram, 503)
    anna = staff(telegram)
    alert = await alert_when(telegram, lambda text: "Status: completed" in text)
    await anna.tap(EN.case_reply, alert)
    await anna.send("Hello from the clinic")  # not sent as a reply: privacy mode off
    assert (await patient.next_message()).text.startswith("Hello from the clinic")
    # That was the one reply: the next message is staff talking among themselves.
    await anna.send("lunch at 1?")
    await anna.send("/cases")
    await staff_message_when(telegram, lambda m: "Open cases" in m.text)
    assert patient.unread() == []


@pytest.mark.usefixtures("bot")
async def test_cancel_in_the_staff_chat_stops_a_reply_before_it_is_written(
    telegram: FakeTelegram,
) -> None:
    patient = await unhappy_patient(telegram, 504)
    anna = staff(telegram)
    alert = await alert_when(telegram, lambda text: "Status: completed" in text)
    await anna.tap(EN.case_reply, alert)
    await anna.send("/cancel")
    await staff_message_when(telegram, lambda m: m.text == EN.case_prompt_cancelled)
    await anna.send("never mind, wrong patient")
    await anna.send("/cases")
    await staff_message_when(telegram, lambda m: "Open cases" in m.text)
    assert patient.unread() == []


async def test_only_admins_act_on_cases_and_a_second_admin_sees_who_has_it(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    settings = settings.model_copy(update={"admins": frozenset({ADMIN_ID, SECOND_ADMIN})})
    async with running_bot(settings, clock):
        patient = await unhappy_patient(telegram, 505)
        alert = await alert_when(telegram, lambda text: "Status: completed" in text)
        edits = alert.edits
        stranger = staff(telegram, 4242, "Mallory")
        for label in (EN.case_claim, EN.case_reply, EN.case_resolve):
            tap = await stranger.tap(label, alert)
            assert stranger.toast(tap) == EN.case_team_only
            assert stranger.popup(tap)
        await stranger.send("Hi, it's Mallory, call me back", reply_to=alert)
        await staff_message_when(telegram, lambda m: m.text == EN.case_team_only_reply)
        assert alert.edits == edits
        assert patient.unread() == []

        await staff(telegram).tap(EN.case_claim, alert)
        await alert_when(telegram, lambda text: "Taken by Anna" in text)
        bea = staff(telegram, SECOND_ADMIN, "Bea")
        tap = await bea.tap(EN.case_claim, alert, as_sent=True)  # her phone missed the edit
        assert bea.toast(tap) == EN.case_taken_by.format(name="Anna")
        assert bea.popup(tap)
        # Anyone of the admins may still answer and resolve it.
        await bea.send("Bea here from the clinic.", reply_to=alert)
        assert (await patient.next_message()).text.startswith("Bea here from the clinic.")


async def test_a_restart_between_the_staff_reply_and_the_patients_answer_loses_nothing(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock):
        patient = await unhappy_patient(telegram, 506)
        alert = await alert_when(telegram, lambda text: "Status: completed" in text)
        await staff(telegram).send("Could you send us a photo?", reply_to=alert)
        await patient.next_message()
        await alert_when(telegram, lambda text: "delivered ✓" in text)
    async with running_bot(settings, clock):
        await patient.send("Yes, sending it tonight")
        assert "passed on" in (await patient.next_message()).text
        relayed = await staff_message_when(telegram, lambda m: "answered:" in m.text)
        assert "Yes, sending it tonight" in relayed.text
        assert relayed.reply_to == alert.message_id


async def test_a_staff_reply_telegram_refuses_arrives_later_and_the_alert_says_so(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock):
        patient = await unhappy_patient(telegram, 507)
        alert = await alert_when(telegram, lambda text: "Status: completed" in text)
        telegram.fail_next("sendMessage", Fault(502, "Bad Gateway", chat_id=507))
        await staff(telegram).send("We're here for you.", reply_to=alert)
        await alert_when(telegram, lambda text: "on its way" in text)
        await telegram.wait_for(lambda: any(c.status == 502 for c in telegram.calls))

        async def time_passes() -> None:
            # Past the back-off, counted from when the failure was stored (just after the 502).
            while not patient.unread():
                clock.advance(seconds=10)
                await asyncio.sleep(0.05)

        await asyncio.wait_for(time_passes(), 10)
        assert (await patient.next_message()).text.startswith("We're here for you.")
        await alert_when(telegram, lambda text: "delivered ✓" in text)


@pytest.mark.usefixtures("bot")
async def test_a_reply_to_a_patient_who_blocked_the_bot_shows_not_delivered(
    telegram: FakeTelegram,
) -> None:
    await unhappy_patient(telegram, 508)
    alert = await alert_when(telegram, lambda text: "Status: completed" in text)
    telegram.fail_next(
        "sendMessage", Fault(403, "Forbidden: bot was blocked by the user", chat_id=508)
    )
    await staff(telegram).send("Hello?", reply_to=alert)
    await alert_when(telegram, lambda text: "not delivered" in text)


@pytest.mark.usefixtures("bot")
async def test_a_resolved_case_takes_no_more_replies(telegram: FakeTelegram) -> None:
    patient = await unhappy_patient(telegram, 509)
    anna = staff(telegram)
    alert = await alert_when(telegram, lambda text: "Status: completed" in text)
    await anna.tap(EN.case_resolve, alert)
    await alert_when(telegram, lambda text: "Resolved</b>" in text)
    await anna.send("one more thing", reply_to=alert)
    await staff_message_when(telegram, lambda m: m.text == EN.case_closed)
    tap = await anna.tap(EN.case_claim, alert, as_sent=True)
    assert anna.toast(tap) == EN.case_closed
    assert patient.unread() == []


async def test_cases_lists_open_cases_oldest_first_with_age_and_owner(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    # Not posted again while the test moves the clock on (see the escalation test).
    settings = settings.model_copy(update={"case_escalate_hours": 100})
    async with running_bot(settings, clock):
        await unhappy_patient(telegram, 510)
        first = await alert_when(telegram, lambda text: "Status: completed" in text)
        clock.advance(hours=3)
        await unhappy_patient(telegram, 511)
        await telegram.wait_for(lambda: len(telegram.messages_to(STAFF_CHAT)) >= 2)
        clock.advance(hours=2)
        anna = staff(telegram)
        await anna.tap(EN.case_claim, first)
        await anna.send("/cases")
        listing = await staff_message_when(telegram, lambda m: "Open cases" in m.text)
        rows = listing.text.splitlines()[1:]
        assert len(rows) == 2
        assert rows[0].startswith("• 5h · P-")
        assert rows[0].endswith("· Anna")
        assert rows[1].startswith("• 2h · P-")
        assert rows[1].endswith(EN.cases_nobody)
        await anna.tap(EN.case_resolve, first)
        await alert_when(telegram, lambda text: "Resolved</b>" in text)
        await anna.send("/cases")
        await staff_message_when(telegram, lambda m: "Open cases</b> (1)" in m.text)
        outsider = telegram.patient(4242)
        await outsider.send("/cases")
        assert (await outsider.next_message()).text == EN.staff_only


async def test_a_case_nobody_claims_is_posted_again_after_four_open_hours(
    telegram: FakeTelegram, settings: Settings
) -> None:
    # Monday 18:00: two hours of opening time left today (09:00-20:00).
    clock = FakeClock(datetime(2026, 11, 2, 18, 0, tzinfo=UTC))
    async with running_bot(settings, clock):
        await unhappy_patient(telegram, 512)
        await unhappy_patient(telegram, 513)
        first, second = await _two_alerts(telegram)
        await staff(telegram).tap(EN.case_claim, second)  # this one has an owner
        clock.advance(hours=14)  # Tuesday 08:00: 15 h later, but 2 h of opening time
        await staff(telegram).send("/cases")
        await staff_message_when(telegram, lambda m: "Open cases" in m.text)
        assert [m for m in telegram.messages_to(STAFF_CHAT) if "Posted again" in m.text] == []
        clock.advance(hours=3)  # Tuesday 11:00: 4 h of opening time
        again = await staff_message_when(telegram, lambda m: "Posted again" in m.text)
        assert again.message_id > first.message_id
        assert again.text.split("\n")[0] == first.text.split("\n")[0]  # the same patient
        assert labels(again) == [EN.case_claim, EN.case_reply, EN.case_resolve]
        clock.advance(hours=8)
        await staff(telegram).send("/cases")
        await staff_message_when(telegram, lambda m: "Open cases" in m.text)
        reposts = [m for m in telegram.messages_to(STAFF_CHAT) if "Posted again" in m.text]
        assert reposts == [again]  # once


async def _two_alerts(telegram: FakeTelegram) -> tuple[SentMessage, SentMessage]:
    def alerts() -> list[SentMessage]:
        return [m for m in telegram.messages_to(STAFF_CHAT) if "Status: completed" in m.text]

    await telegram.wait_for(lambda: len(alerts()) == 2)
    first, second = alerts()
    return first, second


@pytest.mark.usefixtures("bot")
async def test_a_patient_who_asks_to_be_called_shares_their_number_and_staff_see_it(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(514)
    await answer_all(patient, "2", "5", None)
    await patient.next_message()
    offer = await patient.next_message()
    assert offer.reply_markup == {
        "keyboard": [
            [{"text": EN.call_me_button, "request_contact": True}],
            [{"text": EN.call_no_button}],
        ],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }
    # Someone else's card is not theirs to give.
    friend = {"phone_number": "+34600000001", "first_name": "Lu", "user_id": 99}
    await patient.send_content(contact=friend)
    assert (await patient.next_message()).text == EN.call_own_number_only
    own = {"phone_number": "34611222333", "first_name": "Pat", "user_id": 514}
    await patient.send_content(contact=own)
    saved = await patient.next_message()
    assert saved.text == EN.call_number_saved.format(phone="+34611222333")
    assert saved.reply_markup == {"remove_keyboard": True}
    await alert_when(telegram, lambda text: "Asks to be called: <code>+34611222333</code>" in text)
    assert "+34600000001" not in telegram.messages_to(STAFF_CHAT)[0].text

    await patient.send("/forget")
    await patient.next_message()
    await patient.tap("Yes, erase everything")
    await alert_when(telegram, lambda text: text == EN.alert_erased)
    db = await Database.open(settings.db)
    try:
        phones = text("SELECT count(*) FROM alerts WHERE callback_phone IS NOT NULL")
        assert await db.connection.scalar(phones) == 0
    finally:
        await db.close()


@pytest.mark.usefixtures("bot")
async def test_no_thank_you_to_the_call_offer_takes_the_keyboard_away(
    telegram: FakeTelegram,
) -> None:
    patient = await unhappy_patient(telegram, 515)
    await patient.send(EN.call_no_button)
    declined = await patient.next_message()
    assert declined.text == EN.call_declined
    assert declined.reply_markup == {"remove_keyboard": True}


@pytest.mark.usefixtures("bot")
async def test_a_happy_patient_is_not_offered_a_call(telegram: FakeTelegram) -> None:
    patient = telegram.patient(516)
    await answer_all(patient, "5", "10", None)
    assert "Thank you" in (await patient.next_message()).text
    await patient.send("/help")
    assert "I collect feedback" in (await patient.next_message()).text


@pytest.mark.usefixtures("bot")
async def test_forgetting_the_patient_blanks_their_relayed_messages_in_the_staff_chat(
    telegram: FakeTelegram,
) -> None:
    patient = await unhappy_patient(telegram, 517)
    alert = await alert_when(telegram, lambda text: "Status: completed" in text)
    await staff(telegram).send("How are you feeling?", reply_to=alert)
    await patient.next_message()
    await alert_when(telegram, lambda text: "delivered ✓" in text)
    await patient.send("Still swollen, my name is Pat Doe")
    assert "passed on" in (await patient.next_message()).text
    relayed = await staff_message_when(telegram, lambda m: "answered:" in m.text)
    await patient.send("/forget")
    await patient.next_message()
    await patient.tap("Yes, erase everything")
    await telegram.wait_for(lambda: relayed.text == EN.alert_erased and alert.text == relayed.text)
    assert relayed.buttons() == []


def test_a_clinic_time_zone_and_a_window_past_midnight_count_open_hours_right() -> None:
    madrid = SendHours.parse("09:00-20:00", "Europe/Madrid")
    # Across the end of summer time (27 Oct 2024): Saturday 19:00 to Monday 10:00, local.
    start = datetime(2024, 10, 26, 17, 0, tzinfo=UTC)  # 19:00 CEST
    end = datetime(2024, 10, 28, 9, 0, tzinfo=UTC)  # 10:00 CET
    assert madrid.open_between(start, end).total_seconds() == (1 + 11 + 1) * 3600
    night = SendHours.parse("22:00-02:00", "UTC")
    monday = datetime(2026, 11, 2, 21, 0, tzinfo=UTC)
    assert night.open_between(monday, monday.replace(day=3, hour=3)).total_seconds() == 4 * 3600
    assert night.open_between(monday, monday).total_seconds() == 0


async def test_the_summary_says_how_fast_staff_answer_and_resolve_cases(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    settings = settings.model_copy(update={"case_escalate_hours": 100})
    async with running_bot(settings, clock):
        anna = staff(telegram)
        await unhappy_patient(telegram, 520)
        await unhappy_patient(telegram, 521)
        first, second = await _two_alerts(telegram)
        clock.advance(minutes=30)
        await anna.send("Sorry to hear that — we'll call you.", reply_to=first)
        await alert_when(telegram, lambda text: "delivered ✓" in text)
        clock.advance(minutes=90)
        await anna.tap(EN.case_resolve, first)
        await alert_when(telegram, lambda text: "Resolved</b>" in text)
        clock.advance(minutes=60)
        await anna.send("Following up now.", reply_to=second)
        await staff_message_when(telegram, lambda m: "delivered ✓" in m.text and m is second)
        await anna.send("/summary 7d")
        summary = await staff_message_when(telegram, lambda m: "Feedback summary" in m.text)
    # First replies after 30 min and 3 h: the median is their mean, 1.75 h.
    assert (
        "Cases: 2 opened · 1 resolved (50%) · median time to the first reply 1.8 h, "
        "to resolution 2.0 h"
    ) in summary.text


@pytest.mark.usefixtures("bot")
async def test_a_prompt_telegram_refuses_says_so_and_chatter_after_resolving_is_no_note(
    telegram: FakeTelegram,
) -> None:
    patient = await unhappy_patient(telegram, 522)
    anna = staff(telegram)
    alert = await alert_when(telegram, lambda text: "Status: completed" in text)
    telegram.fail_next("sendMessage", Fault(502, "Bad Gateway", chat_id=STAFF_CHAT))
    tap = await anna.tap(EN.case_reply, alert)
    assert anna.toast(tap) == EN.case_prompt_failed
    assert anna.popup(tap)
    await anna.tap(EN.case_resolve, alert)
    await alert_when(telegram, lambda text: "Resolved</b>" in text)
    await anna.send("thanks everyone, lunch?")  # not an answer to the bot's prompt
    await anna.send("/cases")
    await staff_message_when(telegram, lambda m: m.text == EN.cases_none)
    assert "lunch" not in alert.text
    assert patient.unread() == []
