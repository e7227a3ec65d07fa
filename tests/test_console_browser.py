"""The staff console in a real browser (headless Chromium), as Telegram opens it.

The page gets its launch data as Telegram's clients pass it in the URL's fragment
(`#tgWebAppData=...&tgWebAppThemeParams=...`), signed here for the fake clock's now.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.settings import Settings
from handlers.texts import CATALOGUES
from tests.browser import Browser, browser_or_skip
from tests.console_launch import signed_launch
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN_ID, FakeClock
from tests.test_cases import alert_when

# The console tests' fixtures, used here by name.
from tests.test_console import ADMIN, console_bot, console_settings  # noqa: F401
from tests.test_invitations import invite
from tests.test_patient_flow import answer_all

EN = CATALOGUES["en"]

# Set to a folder (docs/images) to keep the screenshots the tests take of each page.
SCREENSHOTS = "FEEDBACK_CONSOLE_SCREENSHOTS"
THEME = {"bg_color": "#17212b", "text_color": "#f5f5f5", "button_color": "#5288c1"}


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: the docs' images if asked, else the test's own folder."""
    return Path(os.environ.get(SCREENSHOTS) or tmp_path)


@pytest.fixture
def browser() -> Iterator[Browser]:
    browser_or_skip()
    opened = Browser()
    yield opened
    opened.close()


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
    shots: Path,
) -> None:
    for user_id, (csat, nps) in enumerate([("5", "10"), ("2", "3"), ("4", "8")], start=910):
        patient = telegram.patient(user_id)
        await answer_all(patient, csat, nps, None)
        assert "Thank you" in (await patient.next_message()).text
    admin = telegram.patient(ADMIN_ID)
    await admin.send("/summary 30d")
    summary = (await admin.next_message()).text

    await browser.open(opened_from_telegram(console_settings, signed_launch(
        telegram.token, ADMIN, clock.now()
    )))  # fmt: skip
    await browser.wait_for("document.body.dataset.ready === 'overview'")
    # The page measures its first render (benchmarks/console_speed.py --browser reads it
    # against the 1 s target: timings belong to benchmarks, not to tests).
    assert await browser.script("return window.consoleFirstRenderMs > 0;")
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
    await browser.screenshot(shots / "console-overview.png")


@pytest.mark.usefixtures("console_bot")
@pytest.mark.parametrize("who", ["forged", "expired", "not an admin", "outside Telegram"])
async def test_a_refused_launch_sees_why_and_no_data(
    telegram: FakeTelegram,
    console_settings: Settings,  # noqa: F811
    clock: FakeClock,
    browser: Browser,
    who: str,
) -> None:
    patient = telegram.patient(920)
    await answer_all(patient, "5", "10", "Lovely staff")
    assert "Thank you" in (await patient.next_message()).text
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
            expected = words["not_team"]
        case _:
            url = f"http://{console_settings.http_listen}/console/"
            expected = words["refused"]
    await browser.open(url)
    await browser.wait_for("document.body.dataset.ready === 'refused'")
    assert await browser.texts("#status") == [expected]
    assert await browser.texts(".card") == []
    assert "Lovely staff" not in await browser.script("return document.body.innerText;")


XSS = '<img src=x onerror="window.hacked=1">'


@pytest.mark.usefixtures("console_bot")
async def test_an_admin_claims_replies_and_resolves_a_case_and_the_patient_gets_the_reply(
    telegram: FakeTelegram,
    console_settings: Settings,  # noqa: F811
    clock: FakeClock,
    browser: Browser,
    shots: Path,
) -> None:
    patient = telegram.patient(930)
    await answer_all(patient, "1", "2", XSS)
    assert "Thank you" in (await patient.next_message()).text
    await patient.next_message()  # the offer of a call
    alert = await alert_when(telegram, lambda text: "Status: completed" in text)
    pseudonym = re.search(r"P-[0-9A-Z]+", alert.text)
    assert pseudonym is not None

    await browser.open(opened_from_telegram(console_settings, signed_launch(
        telegram.token, {**ADMIN, "last_name": "Ruiz"}, clock.now()
    )))  # fmt: skip
    await browser.wait_for("document.body.dataset.ready === 'overview'")
    await browser.click('#tabs button[data-page="cases"]')
    await browser.wait_for("document.body.dataset.ready === 'cases'")
    await browser.screenshot(shots / "console-cases.png")
    [row] = await browser.texts(".case-row")
    assert row.startswith(
        f"{pseudonym.group()} · low satisfaction score, unlikely to recommend\n"
        "Nov 2, 2026, 5:00 AM · Nobody has taken it"  # in the clinic's zone, New York
    )
    await browser.click(".case-row")
    await browser.wait_for("document.body.dataset.ready === 'case'")
    # The comment is shown as typed: text, not an image with a script.
    assert XSS in await browser.script("return document.getElementById('case').innerText;")
    assert await browser.script("return document.querySelectorAll('img').length") == 0
    assert await browser.script("return window.hacked === undefined")

    await browser.click('button[data-action="claim"]')
    await browser.wait_for(
        f"document.getElementById('case-said')?.innerText === {EN.case_claimed!r}"
    )
    # The staff group's alert says who took it, as after a tap on its Claim button.
    await alert_when(telegram, lambda text: "Taken by Dana Ruiz" in text)

    reply = "We are so sorry. Dr Li will call you this afternoon."
    await browser.type('textarea[data-field="reply"]', reply)
    await browser.click('button[data-action="reply"]')
    await browser.wait_for("document.getElementById('case-said')?.innerText.includes('P-')")
    received = await patient.next_message()
    assert reply in received.text
    await browser.screenshot(shots / "console-case.png")
    await alert_when(telegram, lambda text: reply in text)

    await browser.type('input[data-field="note"]', "Called back; offered a review visit")
    await browser.click('button[data-action="resolve"]')
    await browser.wait_for(
        f"document.getElementById('case-said')?.innerText === {EN.console_page['resolved']!r}"
    )
    await alert_when(telegram, lambda text: "Resolved</b> by Dana Ruiz" in text)
    assert "Called back; offered a review visit" in await browser.script(
        "return document.getElementById('case').innerText;"
    )
    # Resolved: no more actions offered.
    assert await browser.script("return document.querySelectorAll('.actions').length") == 0


async def visit_with_comment(
    telegram: FakeTelegram, patient_id: int, provider: str, scores: tuple[str, str], comment: str
) -> None:
    """A patient invited for a Botox visit with `provider` Downtown, answering everything."""
    code = await invite(telegram, "Botox", provider, "Downtown")
    patient = telegram.patient(patient_id)
    await patient.send(f"/start {code}")
    await patient.next_message()
    await patient.tap("I agree")
    await patient.next_message()
    await patient.tap(scores[0])
    await patient.next_message()
    await patient.tap(scores[1])
    await patient.next_message()
    await patient.send(comment)
    await patient.next_message()


@pytest.mark.usefixtures("console_bot")
async def test_comments_are_found_by_words_and_filters_and_breakdowns_mark_small_groups(
    telegram: FakeTelegram,
    console_settings: Settings,  # noqa: F811
    clock: FakeClock,
    browser: Browser,
    shots: Path,
) -> None:
    said = [
        ("Dr_Li", ("5", "10"), "Lovely staff, no wait at all"),
        ("Dr_Li", ("4", "9"), "The WAIT was long but worth it"),
        ("Dr_Li", ("5", "10"), "Great results"),
        ("Dr_Li", ("5", "9"), "Clean and calm"),
        ("Dr_Li", ("4", "8"), XSS),
        ("Dr_Ruiz", ("2", "3"), "Rushed and rude"),
        ("Dr_Ruiz", ("3", "6"), "Too expensive"),
    ]
    for patient_id, (provider, scores, comment) in enumerate(said, start=950):
        await visit_with_comment(telegram, patient_id, provider, scores, comment)
        clock.advance(minutes=5)
    await browser.open(opened_from_telegram(console_settings, signed_launch(
        telegram.token, ADMIN, clock.now()
    )))  # fmt: skip
    await browser.wait_for("document.body.dataset.ready === 'overview'")
    await browser.click('#tabs button[data-page="comments"]')
    await browser.wait_for("document.body.dataset.ready === 'comments'")
    assert await browser.texts("#comment-count") == ["7 comments"]
    await browser.screenshot(shots / "console-comments.png")
    # Newest first; every comment is text, the XSS one included.
    shown = await browser.texts(".comment .said")
    assert shown[0] == "Too expensive"
    assert XSS in shown
    assert await browser.script("return document.querySelectorAll('img').length") == 0
    assert await browser.script("return window.hacked === undefined")

    await browser.type("#comment-words", "wait")
    await browser.click("#comment-go")
    await browser.wait_for("document.body.dataset.ready === 'comments'")
    assert sorted(await browser.texts(".comment .said")) == [
        "Lovely staff, no wait at all",
        "The WAIT was long but worth it",
    ]
    await browser.run(browser.driver.find_element("css selector", "#comment-words").clear)
    await browser.select("#comment-provider", "Dr_Ruiz")
    await browser.select("#comment-sentiment", "negative")
    await browser.click("#comment-go")
    await browser.wait_for("document.body.dataset.ready === 'comments'")
    assert await browser.texts(".comment .said") == ["Too expensive", "Rushed and rude"]
    await browser.select("#comment-sentiment", "positive")
    await browser.click("#comment-go")
    await browser.wait_for("document.body.dataset.ready === 'comments'")
    assert await browser.texts(".comment .said") == []
    assert await browser.texts("#comment-list") == [CATALOGUES["en"].console_page["no_comments"]]

    await browser.click('#tabs button[data-page="breakdowns"]')
    await browser.wait_for("document.body.dataset.ready === 'breakdowns'")
    await browser.screenshot(shots / "console-breakdowns.png")
    rows = [row.split("\t") for row in await browser.texts("#breakdown-table tr")]
    assert rows[0] == ["Provider", "Treatment", "Location", "Responses", "CSAT", "NPS"]
    assert rows[1] == ["Dr_Li", "Botox / neuromodulator", "Downtown", "5", "4.60", "+80"]
    assert rows[2] == [
        "Dr_Ruiz", "Botox / neuromodulator", "Downtown", "2 (too few to judge)", "2.50", "-100"
    ]  # fmt: skip
