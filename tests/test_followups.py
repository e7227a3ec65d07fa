"""Follow-ups weeks after a visit: on time, in daytime, once a week at most, never lost."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.app import FOLLOWUPS_KEY
from bot.domain.models import FollowupStatus, ResponseStatus
from bot.services.followups import DispatchReport, FollowupService
from bot.settings import Settings
from handlers.registry import FeedbackApplication
from tests.fake_telegram import FakeTelegram, Fault, Person
from tests.harness import ADMIN_ID, STAFF_CHAT, FakeClock, running_bot
from tests.storage_view import stored_responses
from tests.test_cli import run_cli
from tests.test_patient_flow import answer_all

DAY = timedelta(days=1)


def followups_of(application: FeedbackApplication) -> FollowupService:
    service = application.bot_data[FOLLOWUPS_KEY]
    assert isinstance(service, FollowupService)
    return service


async def dispatch(application: FeedbackApplication) -> DispatchReport:
    return await followups_of(application).dispatch()


async def visit(patient: Person, treatment: str, csat: str = "5", nps: str = "10") -> None:
    """A whole post-visit survey, ending with its thanks."""
    await answer_all(patient, csat, nps, None, treatment=treatment)
    assert "Thank you" in (await patient.next_message()).text


def followup_messages(telegram: FakeTelegram, chat_id: int) -> list[str]:
    """Follow-up messages the bot tried to send, failed attempts included.

    (Counted from the requests: answering one edits it into the question and its answer.)
    """
    texts = [
        str(call.params.get("text"))
        for call in telegram.calls
        if call.method == "sendMessage" and call.params.get("chat_id") == chat_id
    ]
    return [text for text in texts if "Hello again" in text or "gentle reminder" in text]


async def test_follow_ups_are_scheduled_per_treatment(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock) as application:
        await visit(telegram.patient(501), "Laser or light treatment")
        await visit(telegram.patient(502), "Dermal filler")
        counts, listing = await followups_of(application).overview()
    assert counts == {FollowupStatus.SCHEDULED: 4}
    due = sorted((f.visit.treatment if f.visit else None, f.survey_id, f.due_at) for f in listing)
    assert due == [
        ("filler", "results_check", clock.now() + 14 * DAY),
        ("filler", "return_check", clock.now() + 90 * DAY),
        ("laser", "results_check", clock.now() + 28 * DAY),
        ("laser", "return_check", clock.now() + 90 * DAY),
    ]


async def test_a_follow_up_is_sent_when_due_and_its_answers_count(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock) as application:
        patient = telegram.patient(503)
        await visit(patient, "Dermal filler")
        clock.advance(days=13, hours=23)
        assert (await dispatch(application)).sent == 0
        clock.advance(hours=1)
        assert (await dispatch(application)).sent == 1
        message = await patient.next_message()
        assert message.text.startswith(
            "Hello again from Glow Aesthetics! It's been a little while since your Dermal filler."
        )
        assert "Question 1 of 5\n\nHow happy are you with your results so far?" in message.text
        assert (await dispatch(application)).sent == 0  # never twice
        await patient.tap("2")
        await patient.next_message()
        await patient.tap("3")
        await patient.next_message()
        await patient.tap("▫️ Lumps or unevenness")
        await patient.tap("Done ✓")
        await patient.next_message()
        await patient.send("There is a lump on my lip")
        # A possible complication: the patient is told the clinic will call, no advice.
        safety = await patient.next_message()
        assert safety.text.startswith("Thank you for telling us — the clinic will contact you")
        assert "call the clinic now or your local emergency number" in safety.text
        await patient.next_message()
        await patient.tap("Yes")  # shown because csat <= 3: please call me
        assert "Thank you" in (await patient.next_message()).text
        # Follow-up answers raise the same staff alert as the visit-day survey.
        await telegram.wait_for(
            lambda: any(
                "How are your results?" in m.text and "Status: completed" in m.text
                for m in telegram.messages_to(STAFF_CHAT)
            )
        )
        [alert] = telegram.messages_to(STAFF_CHAT)
        assert alert.text.startswith("🚨 <b>Possible complication — clinical follow-up</b>")
        assert "possible complication: lump" in alert.text
        assert "low satisfaction score" in alert.text
        assert "<blockquote>There is a lump on my lip</blockquote>" in alert.text
        counts, _ = await followups_of(application).overview()
    assert counts[FollowupStatus.ANSWERED] == 1
    visit_day, followup = await stored_responses(settings.db)
    assert followup.survey_id == "results_check"
    assert followup.status is ResponseStatus.COMPLETED
    assert followup.visit == visit_day.visit
    assert followup.values["csat"] == 2
    assert followup.values["callback"] is True


async def test_only_in_daytime_in_the_clinics_time_zone(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    settings = settings.model_copy(
        update={"timezone": "America/New_York", "send_hours": "09:00-20:00"}
    )
    async with running_bot(settings, clock) as application:
        patient = telegram.patient(504)
        await visit(patient, "Dermal filler")  # at 10:00 UTC, 05:00 in New York
        clock.advance(days=14)
        report = await dispatch(application)
        assert report.quiet_hours
        assert report.sent == 0
        clock.advance(hours=4)  # 09:00 in New York
        assert (await dispatch(application)).sent == 1
    assert len(followup_messages(telegram, 504)) == 1


async def test_at_most_one_follow_up_message_a_week(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock) as application:
        patient = telegram.patient(505)
        await visit(patient, "Dermal filler")
        clock.advance(days=2)
        await visit(patient, "Botox / neuromodulator")  # a second visit two days later
        clock.advance(days=12)
        assert (await dispatch(application)).sent == 1
        await patient.next_message()
        for value in ("5", "10"):
            await patient.tap(value)
            await patient.next_message()
        await patient.tap("▫️ None of these")
        await patient.tap("Done ✓")
        await patient.next_message()
        await patient.tap("Skip")
        assert "Thank you" in (await patient.next_message()).text
        clock.advance(days=2)  # the second visit's follow-up is due, but the week is not over
        assert (await dispatch(application)).sent == 0
        clock.advance(days=5)
        assert (await dispatch(application)).sent == 1
    sent = followup_messages(telegram, 505)
    assert len(sent) == 2
    assert "Dermal filler" in sent[0]
    assert "Botox / neuromodulator" in sent[1]


async def test_follow_ups_due_while_the_bot_was_down_are_sent_once_it_is_back(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock):
        await visit(telegram.patient(506), "Dermal filler")
        await visit(telegram.patient(507), "Chemical peel")
    clock.advance(days=22)  # both are due (14 and 21 days), the bot is down
    async with running_bot(settings, clock):
        await telegram.wait_for(
            lambda: all(len(followup_messages(telegram, chat)) == 1 for chat in (506, 507))
        )
    async with running_bot(settings, clock) as application:
        assert (await dispatch(application)).sent == 0
    assert [len(followup_messages(telegram, chat)) for chat in (506, 507)] == [1, 1]


async def test_a_follow_up_too_late_to_send_is_dropped(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock):
        await visit(telegram.patient(508), "Dermal filler")
    clock.advance(days=14 + 15)  # due at 14 days, the window is 14 days
    async with running_bot(settings, clock) as application:
        await dispatch(application)
        counts, _ = await followups_of(application).overview()
    assert counts[FollowupStatus.EXPIRED] == 1
    assert followup_messages(telegram, 508) == []


async def test_one_reminder_then_the_follow_up_expires(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock) as application:
        patient = telegram.patient(509)
        await visit(patient, "Dermal filler")
        clock.advance(days=14)
        await dispatch(application)
        await patient.next_message()
        await patient.tap("4")  # answers one question, then goes quiet
        await patient.next_message()
        clock.advance(days=7)
        assert (await dispatch(application)).reminded == 1
        reminder = await patient.next_message()
        assert reminder.text.startswith("A gentle reminder from Glow Aesthetics")
        assert "Question 2 of 4" in reminder.text  # where they stopped
        clock.advance(days=6)
        assert (await dispatch(application)).reminded == 0  # only one reminder
        clock.advance(days=2)
        assert (await dispatch(application)).expired == 1
    _, followup = await stored_responses(settings.db)
    assert followup.status is ResponseStatus.ABANDONED
    assert followup.values == {"csat": 4}


async def test_stop_ends_all_follow_ups_and_resume_allows_them_again(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock) as application:
        patient = telegram.patient(510)
        await visit(patient, "Dermal filler")
        await patient.send("/stop")
        stopped = await patient.next_message()
        assert "won't get any more follow-up messages" in stopped.text
        assert "/resume" in stopped.text
        clock.advance(days=100)
        await dispatch(application)
        counts, _ = await followups_of(application).overview()
        assert counts == {FollowupStatus.STOPPED: 2}
        await patient.send("/resume")
        assert "back on" in (await patient.next_message()).text
        await visit(patient, "Dermal filler")
        counts, _ = await followups_of(application).overview()
        assert counts[FollowupStatus.SCHEDULED] == 2
    assert followup_messages(telegram, 510) == []
    stranger = telegram.patient(511)
    async with running_bot(settings, clock):
        await stranger.send("/stop")
        assert "don't send you any follow-ups" in (await stranger.next_message()).text


async def test_a_patient_who_blocked_the_bot_is_not_retried(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock) as application:
        await visit(telegram.patient(512), "Dermal filler")
        telegram.fail_next(
            "sendMessage", Fault(403, "Forbidden: bot was blocked by the user", chat_id=512)
        )
        clock.advance(days=14)
        assert (await dispatch(application)).blocked == 1
        clock.advance(days=80)
        assert (await dispatch(application)).sent == 0
        counts, _ = await followups_of(application).overview()
    assert counts == {FollowupStatus.BLOCKED: 2}
    # The one attempt that met the 403, and nothing after it.
    assert len(followup_messages(telegram, 512)) == 1


async def test_a_network_failure_is_retried_later(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock) as application:
        patient = telegram.patient(513)
        await visit(patient, "Dermal filler")
        telegram.fail_next("sendMessage", Fault(502, "Bad Gateway", chat_id=513), times=4)
        clock.advance(days=14)
        assert (await dispatch(application)).failed == 1
        assert (await dispatch(application)).sent == 0  # not before the retry time
        clock.advance(minutes=11)
        assert (await dispatch(application)).sent == 1
    assert len(followup_messages(telegram, 513)) == 5  # four attempts failed, then one got through
    delivered = [m for m in telegram.messages_to(513) if m.text.startswith("Hello again")]
    assert len(delivered) == 1


async def test_admins_see_visit_day_and_follow_up_scores_side_by_side(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock) as application:
        unhappy_later, still_happy = telegram.patient(520), telegram.patient(521)
        await visit(unhappy_later, "Dermal filler", "5", "10")
        await visit(still_happy, "Dermal filler", "4", "9")
        clock.advance(days=14)
        assert (await dispatch(application)).sent == 2
        for patient, csat, nps in ((unhappy_later, "2", "3"), (still_happy, "4", "9")):
            await patient.next_message()
            await patient.tap(csat)
            await patient.next_message()
            await patient.tap(nps)
        admin = telegram.patient(ADMIN_ID)
        await admin.send("/summary all")
        report = (await admin.next_message()).text
    over_time = report.split("<b>Over time: at the visit and weeks later</b>\n")[1]
    assert over_time.split("\n\n")[0].splitlines() == [
        "• After your visit: 2 · CSAT 4.5 · NPS +100",
        "• How are your results?: 2 · CSAT 3.0 · NPS +0",
    ]


async def test_the_command_line_lists_follow_ups(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(settings, clock) as application:
        await visit(telegram.patient(530), "Laser or light treatment")
        clock.advance(days=28)
        assert (await dispatch(application)).sent == 1
    result = run_cli(
        tmp_path, "followups", FEEDBACK_DB=str(settings.db), FEEDBACK_TIMEZONE="Europe/Madrid"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Follow-ups: scheduled 1, sending 0, sent 1, reminded 0, answered 0, expired 0, "
        "stopped 0, blocked 0"
    )
    # Due 28 days after a visit at 10:00 UTC on 2 November: 11:00 in Madrid, in winter.
    assert lines[3].split()[:5] == ["2026-11-30", "11:00", "+0100", "sent", "results_check"]
    assert lines[3].split()[-1] == "laser"
    assert lines[4].split()[3:5] == ["scheduled", "return_check"]
