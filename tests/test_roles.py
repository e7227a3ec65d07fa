"""Roles: admins do everything; staff work cases and read summaries, and take no data away.

`FEEDBACK_STAFF` members claim, answer and resolve cases and read `/summary`, `/cases`,
`/trend` and the console; `/export` and `/audit` are refused them in a line, never in
silence. Anyone on neither list is refused everything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.roles import GRANTED, Permission, Role, Roster
from bot.settings import Settings
from tests.console_launch import signed_launch
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN_ID, FakeClock, free_port, make_settings, running_bot
from tests.test_audit import audit_entries
from tests.test_cases import EN, alert_when, staff, staff_message_when, unhappy_patient
from tests.test_console import call

NURSE = 880


@pytest.fixture
def team_settings(telegram: FakeTelegram, database_location: Path | str) -> Settings:
    return make_settings(
        telegram,
        database_location,
        staff=frozenset({NURSE}),
        http_listen=f"127.0.0.1:{free_port()}",
        public_url="https://feedback.glow.example",
    )


async def test_staff_work_a_case_and_read_summaries_but_export_and_audit_are_refused(
    telegram: FakeTelegram, team_settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(team_settings, clock):
        patient = await unhappy_patient(telegram, 950)
        alert = await alert_when(telegram, lambda text: "Status: completed" in text)
        lee = staff(telegram, NURSE, "Lee")
        await lee.tap(EN.case_claim, alert)
        await alert_when(telegram, lambda text: "Taken by Lee" in text)
        await lee.tap(EN.case_reply, alert)
        prompt = await staff_message_when(telegram, lambda m: "write your reply" in m.text)
        await lee.send("We will call you today", reply_to=prompt)
        await telegram.wait_for(
            lambda: any("We will call you today" in m.text for m in telegram.messages_to(950))
        )
        in_private = telegram.patient(NURSE, "Lee")
        await in_private.send("/summary")
        assert (await in_private.next_message()).text.startswith("📊")
        await in_private.send("/cases")
        assert "P-" in (await in_private.next_message()).text
        for command in ("/export", "/audit"):
            await in_private.send(command)
            assert (await in_private.next_message()).text == EN.admins_only
        await in_private.send("/invite botox Dr_Li")
        assert (await in_private.next_message()).photo is not None  # the desk makes links
        launch = signed_launch(telegram.token, {"id": NURSE, "first_name": "Lee"}, clock.now())
        status, listing, _ = await call(team_settings, "cases", launch)
        assert (status, len(listing["cases"])) == (200, 1)
        entries = await audit_entries(team_settings, 5)
    assert not any(m.document for m in telegram.messages_to(NURSE))
    assert [(e.entry.actor, e.entry.action) for e in entries] == [
        (str(NURSE), action) for action in ("claim", "reply", "summary", "cases", "cases")
    ]
    assert patient.unread()  # the reply reached the patient


async def test_someone_on_neither_list_is_refused_everything_in_words(
    telegram: FakeTelegram, team_settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(team_settings, clock):
        await unhappy_patient(telegram, 951)
        alert = await alert_when(telegram, lambda text: "Status: completed" in text)
        visitor = staff(telegram, 4242, "Sam")
        tapped = await visitor.tap(EN.case_claim, alert)
        assert visitor.toast(tapped) == EN.case_team_only
        assert visitor.popup(tapped)
        in_private = telegram.patient(4242, "Sam")
        for command in ("/summary", "/cases", "/trend", "/export", "/audit", "/console"):
            await in_private.send(command)
            assert (await in_private.next_message()).text == EN.staff_only
        launch = signed_launch(telegram.token, {"id": 4242, "first_name": "Sam"}, clock.now())
        status, body, _ = await call(team_settings, "overview", launch)
    assert (status, body["error"]) == (403, "not_team")
    assert "Taken by" not in (await alert_when(telegram, lambda _: True)).text


def test_an_admin_also_listed_as_staff_keeps_every_permission() -> None:
    settings = Settings(
        _env_file=None, admins=frozenset({ADMIN_ID}), staff=frozenset({ADMIN_ID, NURSE})
    )
    roster = settings.roster()
    assert roster.role(ADMIN_ID) is Role.ADMIN
    assert all(roster.may(ADMIN_ID, permission) for permission in Permission)
    assert roster.role(NURSE) is Role.STAFF
    assert {p for p in Permission if roster.may(NURSE, p)} == GRANTED[Role.STAFF]
    assert not roster.may(NURSE, Permission.EXPORT_DATA)
    assert Roster(frozenset()).role(NURSE) is None


def test_staff_ids_are_read_from_the_environment_like_admins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEEDBACK_STAFF", "880, 881")
    assert Settings(_env_file=None).staff == frozenset({880, 881})
    monkeypatch.setenv("FEEDBACK_STAFF", "880, Lee")
    with pytest.raises(ValueError, match="Telegram user ids"):
        Settings(_env_file=None)
