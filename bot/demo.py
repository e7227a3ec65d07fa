"""`feedback-bot demo`: try the surveys in a terminal, without Telegram.

The real bot runs inside this process against the local fake Bot API server; the terminal
plays the patient. Keyboards are shown as choices to type: a rating's own values (typing 1
records 1), other buttons numbered in the order shown. Staff alerts are printed as staff
read them (no markup), and again whenever the bot edits them.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from bot.app import build_application, clock_for, polling
from bot.domain.models import Visit
from bot.domain.surveys import SurveyCatalog
from bot.local_telegram import LocalTelegram, Person, SentMessage
from bot.services.invitations import InvitationService
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
        update_id, message_id = await _ids_used(db) if db is not None else (0, 0)
        server = LocalTelegram(
            first_update_id=max(1000, update_id + 1), first_message_id=message_id + 1
        )
        await server.start()
        demo_settings = settings.model_copy(
            update={
                "bot_token": SecretStr(server.token),
                "api_url": server.api_url,
                "db": db or Path(folder) / "demo.db",
                "staff_chat": DEMO_STAFF_CHAT,
            }
        )
        clock = clock_for(demo_settings)
        application = build_application(demo_settings, clock=clock, surveys=catalog)
        try:
            async with polling(application, poll_timeout=timedelta(seconds=1), clock=clock):
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


def _banner(
    catalog: SurveyCatalog, survey_id: str | None, db: Path | str, *, throwaway: bool
) -> str:
    survey = survey_id or catalog.default.id
    where = "a throwaway database" if throwaway else str(db)
    return (
        f"Demo of the '{survey}' survey; answers go to {where}.\n"
        "Type a choice's number to tap it, or type text to send it. /quit ends the demo.\n"
    )


async def _ids_used(db: Path) -> tuple[int, int]:
    """The last update id and message id a kept demo database has seen (0 if none)."""
    database = await Database.open(db)
    try:
        return await database.last_ids()
    finally:
        await database.close()


async def _invitation(settings: Settings, catalog: SurveyCatalog, survey_id: str) -> str:
    """An invitation for the survey to try, as the front desk would hand out."""
    database = await Database.open(settings.db)
    try:
        service = InvitationService(
            SqliteResponseStore(database), catalog, clock_for(settings), timedelta(days=1)
        )
        treatment = catalog.treatments[0].id if catalog.treatments else "demo"
        invitation = await service.create(Visit(treatment, "Demo provider"), survey_id)
    finally:
        await database.close()
    return invitation.code


async def _converse(
    server: LocalTelegram, patient: Person, first: str, read: InputFunction, out: TextIO
) -> None:
    staff = StaffView(server)
    await patient.send(first)
    tapped: SentMessage | None = None
    edits_before = 0
    while True:
        await _settle(server, patient, wait_for_reply=tapped is None)
        staff.show(out)
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


class StaffView:
    """The staff chat as the demo prints it: alerts as plain text, and again when edited."""

    def __init__(self, server: LocalTelegram) -> None:
        self._server = server
        self._shown: dict[int, int] = {}  # message id -> edits shown

    def show(self, out: TextIO) -> None:
        """Print staff messages that are new or changed since last time."""
        for message in self._server.messages_to(DEMO_STAFF_CHAT):
            shown = self._shown.get(message.message_id)
            if shown is not None and shown == message.edits:
                continue
            who = "staff chat" if shown is None else "staff chat (updated)"
            print(f"{who}: " + _plain(message.text).replace("\n", "\n     "), file=out)
            labels = [label for label, _ in message.buttons()]
            if labels:
                print(f"     [buttons for staff: {' · '.join(labels)}]", file=out)
            self._shown[message.message_id] = message.edits
        out.flush()


_TAG = re.compile(r"</?[a-z]+[^>]*>")


def _plain(text: str) -> str:
    """A staff message's HTML as the reader sees it: no tags, entities decoded."""
    return html.unescape(
        _TAG.sub("", text.replace("<blockquote>", "❝").replace("</blockquote>", "❞"))
    )


def _choices(labels: list[str]) -> dict[str, str]:
    """What to type for each button: a scale's value, else its number in the order shown."""
    scale = {label: label.split(" · ", 1)[0] for label in labels}
    if any(value.isdigit() for value in scale.values()):
        # Typing 1 for a bad visit records 1, wherever the list puts it.
        return {label: value for label, value in scale.items() if value.isdigit()}
    return {label: str(number) for number, label in enumerate(labels, start=1)}


# The number the demo patient shares when they tap "Please call me" (a fictional one).
DEMO_PHONE = "+1 555 0100"


async def _reply(
    patient: Person, keyboard: SentMessage | None, line: str, out: TextIO
) -> SentMessage | None:
    """Tap the button the line names, or send the line as text; returns a tapped message."""
    typed_reply = _typed_reply_button(keyboard, line)
    if typed_reply is not None:
        label, shares_contact = typed_reply
        if shares_contact:  # Telegram sends the patient's own contact card, nothing typed
            contact = {"phone_number": DEMO_PHONE, "first_name": "Demo"}
            await patient.send_content(contact=contact | {"user_id": patient.chat_id})
        else:
            await patient.send(label)
        return None
    labels = _tappable(keyboard)
    typed = {value: label for label, value in _choices(labels).items()}
    if keyboard is not None and line.casefold() in (label.casefold() for label in labels):
        label = next(label for label in labels if label.casefold() == line.casefold())
        update = await patient.tap(label, keyboard)
    elif keyboard is not None and line in typed:
        update = await patient.tap(typed[line], keyboard)
    else:
        await patient.send(line)
        return None
    toast = patient.toast(update)
    if toast:
        print(f"  (pop-up) {toast}", file=out)
    return keyboard


def _reply_buttons(message: SentMessage | None) -> list[tuple[str, bool]]:
    """A reply keyboard's buttons (under the typing field), and if each shares the number."""
    if message is None or not message.reply_markup:
        return []
    return [
        (button["text"], bool(button.get("request_contact")))
        for row in message.reply_markup.get("keyboard", [])
        for button in row
    ]


def _typed_reply_button(message: SentMessage | None, line: str) -> tuple[str, bool] | None:
    """The reply-keyboard button a typed line names (its number, or its label), if any."""
    buttons = _reply_buttons(message)
    for number, (label, shares) in enumerate(buttons, start=1):
        if line in (str(number), label) or line.casefold() == label.casefold():
            return label, shares
    return None


def _tappable(message: SentMessage | None) -> list[str]:
    if message is None:
        return []
    return [label for label, data in message.buttons() if data is not None]


async def _settle(server: LocalTelegram, patient: Person, *, wait_for_reply: bool) -> None:
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


def _latest_keyboard(server: LocalTelegram, patient: Person) -> SentMessage | None:
    """The bot's newest message, if it has buttons.

    Older keyboards are not the question now: typing 1 under "Please call me" must not
    press an old Skip.
    """
    messages = server.messages_to(patient.chat_id)
    if not messages:
        return None
    newest = messages[-1]
    return newest if newest.buttons() or _reply_buttons(newest) else None


def _show(messages: list[SentMessage], out: TextIO, who: str) -> SentMessage | None:
    """Print messages; a scale's buttons as their values, other buttons numbered."""
    for message in messages:
        print(f"{who}: " + message.text.replace("\n", "\n     "), file=out)
        labels = _tappable(message)
        choices = _choices(labels)
        if labels and all(label.isdigit() for label in choices):
            print("     " + "  ".join(choices) + "   (type the number)", file=out)
        else:
            for label, value in choices.items():
                shown = label.split(" · ", 1)[1] if label.startswith(f"{value} · ") else label
                print(f"     [{value}] {shown}", file=out)
        for label in labels:
            if label not in choices:
                print(f"     or type: {label}", file=out)
        for url in message.url_buttons():
            print(f"     (link) {url}", file=out)
        for number, (label, shares) in enumerate(_reply_buttons(message), start=1):
            shared = f" (shares the demo number {DEMO_PHONE})" if shares else ""
            print(f"     [{number}] {label}{shared}", file=out)
    out.flush()
    return messages[-1] if messages else None
