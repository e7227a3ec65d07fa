"""`feedback-bot demo`, driven in a pseudo-terminal as a clinic manager would use it."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from bot.domain.models import ResponseStatus
from tests.storage_view import stored_responses
from tests.test_process import feedback_bot

pytestmark = pytest.mark.process


class Terminal:
    """A process on a pseudo-terminal: read what it prints, type lines into it."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")}
        self.process = subprocess.Popen(
            [feedback_bot(), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env | {"TERM": "dumb"},
        )
        os.close(slave)
        self.screen = ""

    def expect(self, text: str, *, since: int = 0, timeout: float = 30) -> str:
        """Read until `text` appears after position `since`; returns the whole screen."""
        deadline = time.monotonic() + timeout
        while text not in self.screen[since:]:
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {text!r}; the screen:\n{self.screen}")
            self._read_some()
        return self.screen

    def type(self, line: str) -> None:
        """Type a line and wait for the next prompt, so each answer meets its question."""
        mark = len(self.screen)
        os.write(self.master, line.encode() + b"\n")
        self.expect("> ", since=mark)

    def _read_some(self) -> None:
        ready, _, _ = select.select([self.master], [], [], 0.2)
        if not ready:
            return
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # the process closed the terminal
            chunk = b""
        if not chunk:
            raise AssertionError(f"the program ended; the screen:\n{self.screen}")
        self.screen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")

    def close(self) -> int:
        try:
            return self.process.wait(timeout=30)
        finally:
            os.close(self.master)


def test_a_clinic_tries_its_survey_in_the_terminal(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    terminal = Terminal("demo", "--db", str(db), cwd=tmp_path)
    try:
        terminal.expect("Nothing is stored until you tap")
        terminal.expect("[1] I agree")
        terminal.expect("> ")
        terminal.type("1")
        terminal.expect("Which treatment did you have?")
        terminal.type("2")  # Dermal filler
        # The best at the top, as on the phone; each numbered with its own value.
        screen = terminal.expect("[1] Very poor")
        assert screen.index("[5] Excellent") < screen.index("[1] Very poor")
        terminal.type("1")  # a bad visit: records 1, not the first line's 5
        terminal.expect("0  1  2  3  4  5  6  7  8  9  10   (type the number)")
        terminal.type("3")
        terminal.expect("What could we have done better?")
        terminal.type("The wait was far <b>too</b> long")
        screen = terminal.expect("Thank you!")
        # Staff alerts as staff read them: no markup, and again as they are edited.
        assert "staff chat: ⚠️ Patient needs a follow-up — P-" in screen
        assert "<b>" not in screen.replace("far <b>too</b> long", "")
        terminal.expect("staff chat (updated): ⚠️ Patient needs a follow-up")
        terminal.expect("❝The wait was far <b>too</b> long❞")
        os.write(terminal.master, b"/quit\n")
        assert terminal.close() == 0
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
    # --db keeps the answers, visit included.
    [response] = asyncio.run(stored_responses(db))
    assert response.status is ResponseStatus.COMPLETED
    assert response.values == {"csat": 1, "nps": 3, "comment": "The wait was far <b>too</b> long"}
    assert response.visit is not None
    assert response.visit.treatment == "filler"


def test_the_demo_can_be_run_again_on_the_same_database(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    for run in range(2):
        terminal = Terminal("demo", "--db", str(db), cwd=tmp_path)
        try:
            if run == 0:
                terminal.expect("[1] I agree")
                terminal.type("1")
            else:  # agreed last time: straight to a new survey
                terminal.expect("> ")
            terminal.expect("Which treatment did you have?")
            terminal.type("2")
            terminal.expect("[5] Excellent")
            terminal.type("5")
            terminal.expect("(type the number)")
            terminal.type("10")
            terminal.expect("Question 3 of 3")
            terminal.type(f"Visit number {run + 1}")
            terminal.expect("Thank you!")
            os.write(terminal.master, b"/quit\n")
            assert terminal.close() == 0
        finally:
            if terminal.process.poll() is None:
                terminal.process.kill()
    responses = asyncio.run(stored_responses(db))
    assert [r.values.get("comment") for r in responses] == ["Visit number 1", "Visit number 2"]


def test_the_call_offer_shows_its_buttons_and_an_erasure_reaches_staff_at_once(
    tmp_path: Path,
) -> None:
    terminal = Terminal("demo", cwd=tmp_path)
    try:
        terminal.expect("[1] I agree")
        terminal.type("1")
        terminal.expect("Which treatment did you have?")
        terminal.type("2")
        terminal.expect("[1] Very poor")
        terminal.type("1")
        terminal.expect("(type the number)")
        terminal.type("2")
        terminal.expect("[1] Skip")
        mark = len(terminal.screen)
        terminal.type("1")  # skip the comment: its Skip button is the last one shown
        terminal.expect("Would you like someone from our clinic to call you?", since=mark)
        screen = terminal.expect("[2] No, thank you", since=mark)
        assert "[1] 📞 Please call me (shares the demo number +1 555 0100)" in screen[mark:]
        mark = len(terminal.screen)
        terminal.type("1")  # the call button, not the old Skip
        terminal.expect("the team will call you at +1 555 0100", since=mark)
        terminal.expect("Asks to be called: +1 555 0100", since=mark)
        terminal.type("/forget")
        terminal.expect("[1] Yes, erase everything")
        mark = len(terminal.screen)
        os.write(terminal.master, b"1\n")
        # The staff chat's notice is shown with the erasure, before the next prompt.
        screen = terminal.expect("everything you told us has been erased", since=mark)
        assert "staff chat (updated): This alert was removed" in screen[mark:]
        os.write(terminal.master, b"/quit\n")
        assert terminal.close() == 0
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
