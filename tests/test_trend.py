"""/trend draws CSAT and NPS week by week or month by month, at the visit and weeks later."""

from __future__ import annotations

import struct
from datetime import date

import pytest

from bot.domain.trend import DayFigures, TrendPeriod, build_trend
from handlers.texts import CATALOGUES
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN_ID, STAFF_CHAT
from tests.test_patient_flow import answer_all

EN = CATALOGUES["en"]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header, which must be a PNG's."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.usefixtures("bot")
async def test_trend_sends_a_chart_of_the_last_twelve_weeks_to_an_admin(
    telegram: FakeTelegram,
) -> None:
    for user_id, csat, nps in ((41, "5", "10"), (42, "2", "3")):
        await answer_all(telegram.patient(user_id), csat, nps, None)
    admin = telegram.patient(ADMIN_ID)
    await admin.send("/trend")
    chart = await admin.next_message()
    assert chart.photo is not None
    assert png_size(chart.photo) == (990, 825)
    assert chart.text == EN.trend_caption.format(unit="week", responses=2)
    await admin.send("/trend 12m")
    yearly = await admin.next_message()
    assert yearly.photo is not None
    assert yearly.photo != chart.photo  # months, not weeks
    await admin.send("/trend 5y")
    assert (await admin.next_message()).text == EN.trend_usage


@pytest.mark.usefixtures("bot")
async def test_trend_works_in_the_staff_chat_and_nobody_else_gets_it(
    telegram: FakeTelegram,
) -> None:
    staff = telegram.in_group(telegram.patient(ADMIN_ID), STAFF_CHAT)
    await staff.send("/trend")
    assert (await staff.next_message()).photo is not None
    outsider = telegram.patient(4343)
    await outsider.send("/trend")
    refusal = await outsider.next_message()
    assert refusal.photo is None
    assert refusal.text == EN.staff_only


def test_weeks_start_on_monday_and_follow_ups_are_drawn_apart_from_the_visit_day() -> None:
    today = date(2026, 11, 30)  # a Monday
    days = [
        DayFigures(date(2026, 11, 30), "post_visit", 2, 2, 9, 1, 0, 1),
        DayFigures(date(2026, 11, 29), "post_visit", 1, 1, 1, 0, 0, 1),  # Sunday: last week
        DayFigures(date(2026, 11, 29), "results", 3, 3, 15, 3, 0, 0),
        DayFigures(date(2026, 8, 1), "post_visit", 5, 5, 25, 5, 0, 0),  # before the 12 weeks
    ]
    trend = build_trend(TrendPeriod.WEEKS_12, today, days, {"results"})
    assert [p.start for p in trend.points][-2:] == [date(2026, 11, 23), date(2026, 11, 30)]
    assert trend.points[0].start == date(2026, 9, 14)  # 11 weeks before this one
    last_week, this_week = trend.points[-2:]
    assert this_week.responses == 2
    assert this_week.csat == 4.5
    assert this_week.nps == 0
    assert this_week.csat_followup is None
    assert last_week.responses == 4
    assert last_week.csat_visit_day == 1
    assert last_week.csat_followup == 5
    assert last_week.nps_visit_day == -100
    assert last_week.nps_followup == 100
    assert last_week.csat == 4  # (1 + 15) / 4 answers
    assert trend.points[0].responses == 0
    assert trend.points[0].csat is None  # a gap, not a zero
    assert trend.responses == 6


def test_months_run_back_across_the_new_year() -> None:
    starts = TrendPeriod.MONTHS_12.starts(date(2026, 3, 15))
    assert starts[0] == date(2025, 4, 1)
    assert starts[-1] == date(2026, 3, 1)
    assert len(starts) == 12
