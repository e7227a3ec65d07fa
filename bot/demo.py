"""`feedback-bot demo`: try the surveys in a terminal, without Telegram.

The real bot runs inside this process against the local fake Bot API server; the terminal
plays the patient. Keyboards are shown as numbered choices, and staff alerts are printed
too, so a clinic sees exactly what patients and staff would.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from bot.app import build_application, polling
from bot.domain.models import Visit
from bot.domain.surveys import SurveyCatalog
from bot.fake_telegram import FakeTelegram, Person, SentMessage
from bot.services.invitations import InvitationService
from bot.services.ports import SystemClock
from bot.settings import Settings
from storage.database import Database
from storage.responses import SqliteResponseStore

DEMO_PATIENT = 1001
DEMO_STAFF_CHAT = -1001
QUIET = 0.4  # seconds without a new message before the patient is asked to reply
REPLY_TIMEOUT = 5.0

InputFunction = Callable[[str], str]


async def run_demo(  # noqa: PLR0913 - what to try, and where to read and write
    settings: Settings,
    catalog: SurveyCatalog,
    *,
    language: str,
    survey_id: str | None,
    db: Path | None,
    read: InputFunction = input,
    out: TextIO = sys.stdout,
) -> None:
    """Run the bot against a fake Telegram and chat with it from the terminal."""
    with tempfile.TemporaryDirectory(prefix="feedback-demo-") as folder:
        server = FakeTelegram()
        await server.start()
        demo_settings = settings.model_copy(
            update={
                "bot_token": SecretStr(server.token),
                "api_url": server.api_url,
                "db": db or Path(folder) / "demo.db",
                "staff_chat": DEMO_STAFF_CHAT,
            }
        )
        application = build_application(demo_settings, surveys=catalog)
        try:
            async with polling(application, poll_timeout=timedelta(seconds=1)):
                patient = server.patient(DEMO_PATIENT, "Demo", language=language)
                first = "/start"
                if survey_id is not None:
                    code = await _invitation(demo_settings, catalog, survey_id)
                    first = f"/start {code}"
                print(
                    _banner(catalog, survey_id, demo_settings.db, throwaway=db is None),
                    file=out,
                )
                await _converse(server, patient, first, read, out)
        finally:
            await server.stop()


def _banner(catalog: SurveyCatalog, survey_id: str | None, db: Path, *, throwaway: bool) -> str:
    survey = survey_id or catalog.default.id
    where = "a throwaway database" if throwaway else str(db)
    return (
        f"Demo of the '{survey}' survey; answers go to {where}.\n"
        "Type a choice's number to tap it, or type text to send it. /quit ends the demo.\n"
    )


async def _invitation(settings: Settings, catalog: SurveyCatalog, survey_id: str) -> str:
    """An invitation for the survey to try, as the front desk would hand out."""
    database = await Database.open(settings.db)
    try:
        service = InvitationService(
            SqliteResponseStore(database), catalog, SystemClock(), timedelta(days=1)
        )
        treatment = catalog.treatments[0].id if catalog.treatments else "demo"
        invitation = await service.create(Visit(treatment, "Demo provider"), survey_id)
    finally:
        await database.close()
    return invitation.code


async def _converse(
    server: FakeTelegram, patient: Person, first: str, read: InputFunction, out: TextIO
) -> None:
    staff = server.in_group(patient, DEMO_STAFF_CHAT)
    await patient.send(first)
    tapped: SentMessage | None = None
    edits_before = 0
    while True:
        await _settle(server, patient, wait_for_reply=tapped is None)
        _show(staff.unread(), out, "staff chat")
        staff.skip_to_end()
        if tapped is not None and not patient.unread() and tapped.edits > edits_before:
            _show([tapped], out, "bot")  # a tick in a multiple choice: the same keyboard
        _show(patient.unread(), out, "bot")
        patient.skip_to_end()
        keyboard = _latest_keyboard(server, patient)
        try:
            line = (await asyncio.get_running_loop().run_in_executor(None, read, "> ")).strip()
        except EOFError:
            print(file=out)
            return
        if line in ("/quit", "/exit"):
            return
        edits_before = keyboard.edits if keyboard else 0
        tapped = await _reply(patient, keyboard, line, out) if line else None


async def _reply(
    patient: Person, keyboard: SentMessage | None, line: str, out: TextIO
) -> SentMessage | None:
    """Tap the button the line names, or send the line as text; returns a tapped message."""
    labels = _tappable(keyboard)
    numbered = not any(label.isdigit() for label in labels)
    if keyboard is not None and line.casefold() in (label.casefold() for label in labels):
        label = next(label for label in labels if label.casefold() == line.casefold())
        update = await patient.tap(label, keyboard)
    elif keyboard is not None and numbered and line.isdigit() and 1 <= int(line) <= len(labels):
        update = await patient.tap(labels[int(line) - 1], keyboard)
    else:
        await patient.send(line)
        return None
    toast = patient.toast(update)
    if toast:
        print(f"  (pop-up) {toast}", file=out)
    return keyboard


def _tappable(message: SentMessage | None) -> list[str]:
    if message is None:
        return []
    return [label for label, data in message.buttons() if data is not None]


async def _settle(server: FakeTelegram, patient: Person, *, wait_for_reply: bool) -> None:
    """Wait until the bot has replied and gone quiet.

    A tap is answered after the bot has done its part, so only typed messages need to wait
    for the first reply.
    """
    if wait_for_reply:
        try:
            await server.wait_for(lambda: bool(patient.unread()), REPLY_TIMEOUT)
        except TimeoutError:
            return
    seen = -1
    while seen != len(server.messages):
        seen = len(server.messages)
        await asyncio.sleep(QUIET)


def _latest_keyboard(server: FakeTelegram, patient: Person) -> SentMessage | None:
    with_buttons = [m for m in server.messages_to(patient.chat_id) if m.buttons()]
    return with_buttons[-1] if with_buttons else None


def _show(messages: list[SentMessage], out: TextIO, who: str) -> SentMessage | None:
    """Print messages; a scale's buttons as their values, other buttons numbered."""
    for message in messages:
        print(f"{who}: " + message.text.replace("\n", "\n     "), file=out)
        labels = _tappable(message)
        values = [label for label in labels if label.isdigit()]
        if values:
            print("     " + "  ".join(values) + "   (type the number)", file=out)
            for label in labels:
                if not label.isdigit():
                    print(f"     or type: {label}", file=out)
        else:
            for number, label in enumerate(labels, start=1):
                print(f"     [{number}] {label}", file=out)
        for url in message.url_buttons():
            print(f"     (link) {url}", file=out)
    out.flush()
    return messages[-1] if messages else None
