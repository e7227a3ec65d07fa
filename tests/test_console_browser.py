"""The staff console in a real browser (headless Chromium), as Telegram opens it.

The page gets its launch data as Telegram's clients pass it in the URL's fragment
(`#tgWebAppData=...&tgWebAppThemeParams=...`), signed here for the fake clock's now.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.settings import Settings
from handlers.registry import FeedbackApplication
from handlers.texts import CATALOGUES
from tests.browser import Browser, browser_or_skip
from tests.console_launch import signed_launch
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN_ID, FakeClock, running_bot
from tests.test_console import ADMIN, console_settings  # noqa: F401 - a fixture used here
from tests.test_patient_flow import answer_all

FIRST_RENDER_MS = 1000
THEME = {"bg_color": "#17212b", "text_color": "#f5f5f5", "button_color": "#5288c1"}


@pytest.fixture
def browser() -> Iterator[Browser]:
    browser_or_skip()
    opened = Browser()
    yield opened
    opened.close()


@pytest.fixture
async def console_bot(
    console_settings: Settings,  # noqa: F811 - the fixture imported above
    clock: FakeClock,
) -> AsyncIterator[FeedbackApplication]:
    async with running_bot(console_settings, clock) as application:
        yield application


def opened_from_telegram(settings: Settings, launch: str) -> str:
    """The console's address with the fragment Telegram's clients add."""
    fragment = (
        f"tgWebAppData={quote(launch, safe='')}&tgWebAppVersion=8.0&tgWebAppPlatform=weba"
        f"&tgWebAppThemeParams={quote(json.dumps(THEME), safe='')}"
    )
    return f"http://{settings.http_listen}/console/#{fragment}"


@pytest.mark.usefixtures("console_bot")
async def test_an_admin_sees_the_overview_with_the_figures_of_summary(
    telegram: FakeTelegram,
    console_settings: Settings,  # noqa: F811
    clock: FakeClock,
    browser: Browser,
    tmp_path: Path,
) -> None:
    for user_id, (csat, nps) in enumerate([("5", "10"), ("2", "3"), ("4", "8")], start=910):
        await answer_all(telegram.patient(user_id), csat, nps, None)
        await telegram.patient(user_id).next_message()
    admin = telegram.patient(ADMIN_ID)
    await admin.send("/summary 30d")
    summary = (await admin.next_message()).text

    await browser.open(opened_from_telegram(console_settings, signed_launch(
        telegram.token, ADMIN, clock.now()
    )))  # fmt: skip
    await browser.wait_for("document.body.dataset.ready === 'overview'")
    rendered_ms = await browser.script("return window.consoleFirstRenderMs;")
    assert rendered_ms <= FIRST_RENDER_MS, f"first render took {rendered_ms:.0f} ms"
    assert await browser.texts("h1") == ["Console · Glow Aesthetics"]
    headings = await browser.texts(".card h3")
    assert headings == ["Last 7 days", "Last 30 days", "Last 90 days", "All time"]
    shown = {
        name: (await browser.texts(f'.card[data-period="30d"] [data-figure="{name}"] .value'))[0]
        for name in ("responses", "completed", "csat", "nps", "satisfied")
    }
    assert (shown["responses"], shown["completed"]) == ("3", "3 (100%)")
    assert "Responses: 3 started, 3 completed" in summary
    assert f"CSAT: {shown['csat']} / 5 · {shown['satisfied']} rated 4–5" in summary
    assert f"NPS: {shown['nps']}" in summary
    # The trend is drawn in the page, from the same answers.
    assert await browser.script("return document.querySelectorAll('#trend svg polyline').length")
    assert await browser.script("return document.getElementById('trend').dataset.responses") == "3"
    # Telegram's theme colours, as the client passed them.
    background = await browser.script("return getComputedStyle(document.body).backgroundColor;")
    assert background == "rgb(23, 33, 43)"
    await browser.screenshot(tmp_path / "overview.png")


@pytest.mark.usefixtures("console_bot")
@pytest.mark.parametrize("who", ["forged", "expired", "not an admin", "outside Telegram"])
async def test_a_refused_launch_sees_why_and_no_data(
    telegram: FakeTelegram,
    console_settings: Settings,  # noqa: F811
    clock: FakeClock,
    browser: Browser,
    who: str,
) -> None:
    await answer_all(telegram.patient(920), "5", "10", "Lovely staff")
    now = clock.now()
    words = CATALOGUES["en"].console_page
    match who:
        case "forged":
            url = opened_from_telegram(
                console_settings, signed_launch("999999:another-bots-token", ADMIN, now)
            )
            expected = words["refused"]
        case "expired":
            url = opened_from_telegram(
                console_settings, signed_launch(telegram.token, ADMIN, now - timedelta(days=2))
            )
            expected = words["refused"]
        case "not an admin":
            url = opened_from_telegram(
                console_settings, signed_launch(telegram.token, {"id": 4242}, now)
            )
            expected = words["not_admin"]
        case _:
            url = f"http://{console_settings.http_listen}/console/"
            expected = words["refused"]
    await browser.open(url)
    await browser.wait_for("document.body.dataset.ready === 'refused'")
    assert await browser.texts("#status") == [expected]
    assert await browser.texts(".card") == []
    assert "Lovely staff" not in await browser.script("return document.body.innerText;")
