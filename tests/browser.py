"""A real browser for the console's tests: Debian's headless Chromium, driven by Selenium.

Selenium is blocking and the bot under test runs in the test's event loop, so every call
goes to a thread. Without Chromium the browser tests are skipped, unless
`FEEDBACK_TEST_BROWSER_REQUIRED` is set (as CI does): then they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
_T = TypeVar("_T")


def browser_or_skip() -> None:
    """Skip the test if there is no Chromium here (fail instead where it is required)."""
    if Path(CHROMIUM).exists() and shutil.which(CHROMEDRIVER):
        return
    message = "needs Debian's chromium and chromium-driver (apt-get install both)"
    if os.environ.get("FEEDBACK_TEST_BROWSER_REQUIRED"):
        pytest.fail(message)
    pytest.skip(message)


class Browser:
    """One headless Chromium window, phone-sized, as staff open the console."""

    def __init__(self) -> None:
        from selenium import webdriver  # noqa: PLC0415 - only the browser tests load Selenium
        from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            "--no-sandbox",  # as root in a container
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=420,900",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
        ):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))

    async def run(self, call: Callable[..., _T], *args: Any) -> _T:
        """Call Selenium in a thread, so the bot in this event loop keeps serving."""
        return await asyncio.to_thread(call, *args)

    async def open(self, url: str) -> None:
        """Load the page."""
        await self.run(self.driver.get, url)

    async def script(self, source: str) -> Any:
        """Run JavaScript in the page and return its value."""
        return await self.run(self.driver.execute_script, source)

    async def wait_for(self, source: str, timeout: float = 15) -> Any:
        """Until the JavaScript expression is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.script(f"return {source};")
            if value:
                return value
            if time.monotonic() > deadline:
                shown = await self.script("return document.body.innerText;")
                raise AssertionError(f"the page never had {source}; it shows:\n{shown}")
            await asyncio.sleep(0.05)

    async def texts(self, selector: str) -> list[str]:
        """The text of every element the CSS selector finds, as shown."""
        found = await self.script(
            f"return Array.from(document.querySelectorAll({selector!r})).map((e) => e.innerText);"
        )
        return [str(text) for text in found]

    async def click(self, selector: str) -> None:
        """Click the first element the CSS selector finds."""
        from selenium.webdriver.common.by import By  # noqa: PLC0415 - with Selenium, above

        found = await self.run(self.driver.find_element, By.CSS_SELECTOR, selector)
        await self.run(found.click)

    async def type(self, selector: str, text: str) -> None:
        """Type into the field the CSS selector finds."""
        from selenium.webdriver.common.by import By  # noqa: PLC0415 - with Selenium, above

        found = await self.run(self.driver.find_element, By.CSS_SELECTOR, selector)
        await self.run(found.send_keys, text)

    async def select(self, selector: str, value: str) -> None:
        """Choose the option with this value in the select the CSS selector finds."""
        from selenium.webdriver.common.by import By  # noqa: PLC0415 - with Selenium, above
        from selenium.webdriver.support.select import Select  # noqa: PLC0415

        found = await self.run(self.driver.find_element, By.CSS_SELECTOR, selector)
        await self.run(Select(found).select_by_value, value)

    async def screenshot(self, path: Path) -> None:
        """The window as a PNG."""
        await self.run(self.driver.save_screenshot, str(path))

    def close(self) -> None:
        """Close the window and the browser."""
        self.driver.quit()
