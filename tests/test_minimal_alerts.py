"""Least-detail alerts: the staff group reads no patient's words nor phone number.

With `FEEDBACK_ALERT_DETAIL=minimal` an alert shows the pseudonym, the reasons, the scores,
the visit and the case's state; what the patient wrote, staff replies and the number to
call back are behind a Details button, which sends them to the staff member's private
chat and is audited.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from tests.fake_telegram import FakeTelegram, Fault
from tests.harness import ADMIN_ID, STAFF_CHAT, FakeClock, make_settings, running_bot
from tests.test_audit import audit_entries
from tests.test_cases import EN, SECOND_ADMIN, alert_when, labels, staff, staff_message_when
from tests.test_patient_flow import answer_all

COMMENT = "Still swollen and lumpy near my left cheek"
REPLY = "Sorry to hear, could you come in Thursday"
ANSWER = "Thursday works, it throbs at night"
PHONE = "+34611222333"


def words(text: str) -> set[str]:
    return {word.lower().strip(",.") for word in text.split() if len(word) > 3}


@pytest.fixture
def minimal_settings(telegram: FakeTelegram, database_location: Path | str) -> Settings:
    return make_settings(
        telegram,
        database_location,
        alert_detail="minimal",
        admins=frozenset({ADMIN_ID, SECOND_ADMIN}),
    )


async def test_a_minimal_alert_holds_none_of_the_patients_words_and_details_come_in_private(
    telegram: FakeTelegram, minimal_settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(minimal_settings, clock):
        patient = telegram.patient(530)
        await answer_all(patient, "1", "2", COMMENT)
        await telegram.wait_for(
            lambda: any("call you" in m.text for m in telegram.messages_to(530))
        )
        patient.skip_to_end()
        own = {"phone_number": PHONE, "first_name": "Pat", "user_id": 530}
        await patient.send_content(contact=own)
        await patient.next_message()
        alert = await alert_when(telegram, lambda text: "Asks to be called" in text)
        anna = staff(telegram)
        await anna.send(REPLY, reply_to=alert)
        await patient.next_message()
        await patient.send(ANSWER)
        relayed = await staff_message_when(telegram, lambda m: "answered:" in m.text)
        await alert_when(telegram, lambda text: "💬 Patient" in text)
        group_reads = " ".join(m.text for m in telegram.messages_to(STAFF_CHAT))

        tapped = await anna.tap(EN.case_details, alert)
        assert anna.toast(tapped) == EN.case_details_sent
        in_private = telegram.patient(ADMIN_ID)
        details = await in_private.next_message()
        entries = await audit_entries(minimal_settings, 2)
    # The group: who, why, the scores and the state; not a word the patient wrote.
    for line in ("<b>csat</b>: 1/5", "<b>nps</b>: 2/10", "Why: ", EN.case_callback_hidden):
        assert line in alert.text
    assert "P-" in alert.text
    assert labels(alert) == [EN.case_reply, EN.case_resolve, EN.case_details]  # Anna has it
    assert labels(relayed) == [EN.case_reply, EN.case_details]
    # What the bot posted (Anna's own message, the group saw her type).
    for secret in (COMMENT, REPLY, ANSWER):
        assert not words(secret) & words(group_reads), secret
    assert PHONE not in group_reads
    # Details: everything, to Anna alone.
    assert details.chat_id == ADMIN_ID
    for secret in (COMMENT, REPLY, ANSWER, PHONE):
        assert secret in details.text
    assert [(e.entry.actor, e.entry.action) for e in entries] == [
        (str(ADMIN_ID), "reply"),
        (str(ADMIN_ID), "case_viewed"),
    ]


async def test_details_ask_someone_without_a_private_chat_to_open_one_and_refuse_strangers(
    telegram: FakeTelegram, minimal_settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(minimal_settings, clock):
        patient = telegram.patient(531)
        await answer_all(patient, "1", "2", COMMENT)
        alert = await alert_when(telegram, lambda text: "Status: completed" in text)
        lee = staff(telegram, SECOND_ADMIN, "Lee")
        never_started = Fault(403, "Forbidden: bot can't initiate conversation with a user")
        telegram.fail_next(
            "sendMessage", Fault(**{**vars(never_started), "chat_id": SECOND_ADMIN})
        )
        tapped = await lee.tap(EN.case_details, alert)
        assert lee.toast(tapped) == EN.case_details_start_first
        assert lee.popup(tapped)
        stranger = staff(telegram, 4242, "Sam")
        refused = await stranger.tap(EN.case_details, alert)
        assert stranger.toast(refused) == EN.case_team_only
        assert telegram.messages_to(SECOND_ADMIN) == []
        assert telegram.messages_to(4242) == []
        # Shown to nobody, so recorded for nobody.
        assert await audit_entries(minimal_settings, 0) == []


@pytest.mark.usefixtures("bot")
async def test_a_full_alert_has_no_details_button_and_quotes_the_comment(
    telegram: FakeTelegram,
) -> None:
    patient = telegram.patient(532)
    await answer_all(patient, "1", "2", COMMENT)
    alert = await alert_when(telegram, lambda text: "Status: completed" in text)
    assert COMMENT in alert.text
    assert EN.case_details not in labels(alert)
