"""A small Telegram Bot API on loopback, and the people who talk to the bot through it.

`feedback-bot demo` runs the real bot against it, so a clinic can try its surveys in a
terminal without Telegram: the bot talks real HTTP to it exactly as it would to
api.telegram.org (getUpdates long polling with offsets, sendMessage, photos, edits,
callback answers), the demo types and taps as the patient, and reads what the bot sent.
The test suite's fake (`tests/fake_telegram.py`) builds on it, adding what only tests
need: faults, flood control, slow answers, webhook delivery, group chats.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token_for-the-fake-server"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Clinic Feedback",
    "username": "clinic_feedback_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# PTB sends strings as they are and every other value JSON-encoded, as form fields.
_JSON_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "reply_markup",
    "menu_button",
    "allowed_updates",
    "commands",
    "scope",
    "show_alert",
    "cache_time",
    "drop_pending_updates",
    "link_preview_options",
    "reply_parameters",
    "disable_notification",
    "protect_content",
    "entities",
}


@dataclass
class SentMessage:
    """A message the bot sent, in its current (possibly edited) state."""

    message_id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    parse_mode: str | None
    edits: int = 0
    sent_markup: dict[str, Any] | None = None
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None
    reply_to: int | None = None
    """The message this one answers (`reply_parameters`), if any."""

    def __post_init__(self) -> None:
        self.sent_markup = self.reply_markup

    def buttons(self, *, as_sent: bool = False) -> list[tuple[str, str | None]]:
        """Inline buttons as (label, callback_data); `as_sent`: before any edit.

        A phone that missed an edit (offline, or a second device) still shows the keyboard
        as it was sent, and can tap it.
        """
        markup = self.sent_markup if as_sent else self.reply_markup
        if not markup:
            return []
        return [
            (button["text"], button.get("callback_data"))
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]

    def url_buttons(self) -> list[str]:
        """The URLs of link buttons."""
        if not self.reply_markup:
            return []
        return [
            button["url"]
            for row in self.reply_markup.get("inline_keyboard", [])
            for button in row
            if "url" in button
        ]


@dataclass
class Call:
    """One Bot API request the bot made, when (by the server's time source) and its status."""

    method: str
    params: dict[str, Any]
    at: float = 0.0
    status: int = 200


@dataclass
class LocalTelegram:
    """The server. Start it with `await start()`; `api_url` goes into FEEDBACK_API_URL."""

    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    messages: list[SentMessage] = field(default_factory=list)
    callback_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    menu_buttons: dict[int | None, dict[str, Any]] = field(default_factory=dict)
    """setChatMenuButton's buttons by chat (`None`: the bot's default)."""
    time_source: Callable[[], float] = time.monotonic
    """Stamps requests; tests pass a virtual clock so that pacing needs no real waiting."""
    call_delay: float = 0.0
    """Seconds every Bot API call but getUpdates takes, as the network to Telegram does."""
    first_update_id: int = 1000
    first_message_id: int = 1
    """Where update and message ids start: above those a database already saw (the demo's
    --db), or its answers would be taken for redeliveries of old ones."""

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self.pushed: list[dict[str, Any]] = []
        self._redeliver: list[dict[str, Any]] = []
        self._update_ids = itertools.count(self.first_update_id)
        self._message_ids = itertools.count(self.first_message_id)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._by_chat: dict[int, list[SentMessage]] = {}
        self._chat_changed: dict[int, asyncio.Condition] = {}
        self.port = 0
        self.webhook: dict[str, Any] | None = None
        """What setWebhook was given (url, secret_token...), while a webhook is set."""

    @property
    def api_url(self) -> str:
        """The base URL the bot uses (the token is appended to it)."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self, port: int = 0) -> None:
        """Listen on loopback: on `port`, or a free one."""
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Stop listening, first releasing long polls (a killed bot leaves one waiting)."""
        async with self._changed:
            self._closing = True
            self._changed.notify_all()
        await self._stop_delivering()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests do -------------------------------------------------------------------

    def patient(self, user_id: int, first_name: str = "Pat", language: str = "en") -> Person:
        """Someone chatting with the bot in private."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        user["language_code"] = language
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        return Person(self, user, chat)

    async def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update of `kind` (message, callback_query, ...) for the bot."""
        update = {"update_id": next(self._update_ids), kind: payload}
        async with self._changed:
            self._updates.append(update)
            self.pushed.append(update)
            self._changed.notify_all()
        return update

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Everything the bot sent to a chat, oldest first."""
        return list(self._by_chat.get(chat_id, ()))

    async def wait_for_messages(self, chat_id: int, count: int, timeout: float = 10) -> None:
        """Wait until the bot has sent more than `count` messages to the chat.

        Woken by that chat's messages only, so that hundreds of waiting patients cost
        nothing while others are answered (the load benchmark's patients wait this way).
        """
        changed = self._chat_changed.setdefault(chat_id, asyncio.Condition())
        async with changed:
            await asyncio.wait_for(
                changed.wait_for(lambda: len(self._by_chat.get(chat_id, ())) > count), timeout
            )

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        """Wait until the bot has done something that makes `condition` true."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the bot did not do what the test waited for")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    continue

    # -- the Bot API ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return error_response(401, "Unauthorized")
        method = request.match_info["method"]
        params = _params(await request.post())
        call = Call(method, params, at=self.time_source())
        if method != "getUpdates":
            await asyncio.sleep(self.call_delay)
            async with self._changed:
                self.calls.append(call)
                self._changed.notify_all()
        refused, late = await self._intercept(method, params, call)
        if refused is not None:
            return refused
        handler = getattr(self, "_api_" + method, None)
        if handler is None:
            return error_response(404, "Not Found: method not found")
        result = await handler(params)
        if late:
            await asyncio.sleep(late)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    async def _intercept(
        self, method: str, params: dict[str, Any], call: Call
    ) -> tuple[web.Response | None, float]:
        """Before a call is carried out: an error to answer instead, and how late to answer.

        Telegram as it should be: neither (the tests' fake injects faults here).
        """
        del method, params, call
        return None, 0.0

    async def _stop_delivering(self) -> None:
        """Stop posting updates to a webhook: none here (the tests' fake delivers them)."""

    async def _api_getMe(self, _: dict[str, Any]) -> Any:
        return BOT_USER

    async def _api_deleteWebhook(self, _: dict[str, Any]) -> Any:
        await self._stop_delivering()
        self.webhook = None
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        self.commands = params.get("commands", [])
        return True

    async def _api_setChatMenuButton(self, params: dict[str, Any]) -> Any:
        chat = params.get("chat_id")
        self.menu_buttons[None if chat is None else int(chat)] = params.get("menu_button") or {}
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            return error_response(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        timeout = float(params.get("timeout", 0) or 0)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                # Telegram forgets every update below the offset: the bot confirmed them.
                kept = [u for u in self._updates if u["update_id"] >= offset]
                if len(kept) < len(self._updates):
                    self._updates = kept
                    self._changed.notify_all()  # for tests waiting on `confirmed`
                if self._redeliver or self._updates:
                    batch = (self._redeliver + self._updates)[:limit]
                    self._redeliver = [u for u in self._redeliver if u not in batch]
                    return batch
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closing:
                    return []
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    return []

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        if not text.strip():
            return error_response(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return error_response(400, "Bad Request: message is too long")
        chat_id = int(params["chat_id"])
        if chat_id < 0 and _has_web_app_button(params.get("reply_markup")):
            # As Telegram: Mini App buttons only in private chats.
            return error_response(400, "Bad Request: BUTTON_TYPE_INVALID")
        reply = params.get("reply_parameters") or {}
        message = SentMessage(
            message_id=next(self._message_ids),
            chat_id=chat_id,
            text=text,
            reply_markup=params.get("reply_markup"),
            parse_mode=params.get("parse_mode"),
            reply_to=reply.get("message_id"),
        )
        if message.parse_mode == "HTML":
            _check_html(text)
        await self._add(message)
        return self._message_json(message)

    async def _api_sendPhoto(self, params: dict[str, Any]) -> Any:
        photo = params.get("photo")
        if not isinstance(photo, bytes) or not photo.startswith(b"\x89PNG"):
            return error_response(400, "Bad Request: photo must be an uploaded PNG in this fake")
        sent = await self._send_with_caption(params, photo=photo)
        if isinstance(sent, dict):
            sent["photo"] = [
                {"file_id": "p1", "file_unique_id": "p1", "width": 200, "height": 200}
            ]
        return sent

    async def _api_sendDocument(self, params: dict[str, Any]) -> Any:
        document = params.get("document")
        if not isinstance(document, bytes):
            return error_response(
                400, "Bad Request: document must be an uploaded file in this fake"
            )
        if len(document) > 50 * 1000 * 1000:
            return error_response(413, "Request Entity Too Large")
        sent = await self._send_with_caption(
            params, document=document, filename=params.get("document_filename")
        )
        if isinstance(sent, dict):
            sent["document"] = {"file_id": "d1", "file_unique_id": "d1"}
        return sent

    async def _send_with_caption(
        self, params: dict[str, Any], **file: Any
    ) -> dict[str, Any] | web.Response:
        """A message carrying a file and a caption, as sendPhoto and sendDocument post it."""
        if len(str(params.get("caption", ""))) > 1024:
            return error_response(400, "Bad Request: message caption is too long")
        message = SentMessage(
            message_id=next(self._message_ids),
            chat_id=int(params["chat_id"]),
            text=str(params.get("caption", "")),
            reply_markup=params.get("reply_markup"),
            parse_mode=params.get("parse_mode"),
            **file,
        )
        await self._add(message)
        result = self._message_json(message)
        result["caption"] = result.pop("text")
        return result

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        message = self._find(params)
        if message is None:
            return error_response(400, "Bad Request: message to edit not found")
        text = str(params.get("text", ""))
        markup = params.get("reply_markup")
        if text == message.text and markup == message.reply_markup:
            return error_response(400, "Bad Request: message is not modified")
        if params.get("parse_mode") == "HTML":
            _check_html(text)
        async with self._changed:
            message.text, message.reply_markup = text, markup
            message.parse_mode = params.get("parse_mode")
            message.edits += 1
            self._changed.notify_all()
        return self._message_json(message)

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        message = self._find(params)
        if message is None:
            return error_response(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        if markup == message.reply_markup or (not markup and not message.reply_markup):
            return error_response(400, "Bad Request: message is not modified")
        async with self._changed:
            message.reply_markup = markup
            message.edits += 1
            self._changed.notify_all()
        return self._message_json(message)

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        async with self._changed:
            self.callback_answers[str(params["callback_query_id"])] = params
            self._changed.notify_all()
        return True

    async def _add(self, message: SentMessage) -> None:
        async with self._changed:
            self.messages.append(message)
            self._by_chat.setdefault(message.chat_id, []).append(message)
            self._changed.notify_all()
        changed = self._chat_changed.get(message.chat_id)
        if changed is not None:
            async with changed:
                changed.notify_all()

    def _find(self, params: dict[str, Any]) -> SentMessage | None:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        return next(
            (m for m in self._by_chat.get(chat_id, ()) if m.message_id == message_id),
            None,
        )

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        chat = (
            {"id": message.chat_id, "type": "private", "first_name": "Pat"}
            if message.chat_id > 0
            else {"id": message.chat_id, "type": "supergroup", "title": "Clinic staff"}
        )
        result: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "text": message.text,
        }
        # Like Telegram: a message shows only an inline keyboard; a reply keyboard or a
        # ForceReply goes to the client and is not part of the message.
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            result["reply_markup"] = message.reply_markup
        return result


def _params(form: Mapping[str, str | bytes | bytearray | web.FileField]) -> dict[str, Any]:
    """A Bot API request's fields, JSON ones decoded and files read."""
    params: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = value.file.read()
            params[f"{key}_filename"] = value.filename
            continue
        text = value if isinstance(value, str) else ""
        params[key] = json.loads(text) if key in _JSON_FIELDS else text
    return params


def error_response(status: int, description: str, retry_after: int | None = None) -> web.Response:
    """A Bot API error, as Telegram answers it (with `retry_after` for a 429)."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


_ALLOWED_TAGS = ("b", "i", "u", "s", "code", "pre", "a", "blockquote")


def _check_html(text: str) -> None:
    """Fail loudly, like Telegram, on markup it would reject (e.g. unescaped patient text)."""
    for tag in re.findall(r"</?([a-zA-Z][a-zA-Z0-9-]*)", text):
        if tag not in _ALLOWED_TAGS:
            raise AssertionError(f"unsupported tag <{tag}> in an HTML message")


class Person:
    """A Telegram user in one chat, who sends messages and taps buttons."""

    def __init__(self, server: LocalTelegram, user: dict[str, Any], chat: dict[str, Any]) -> None:
        self.server = server
        self.user = user
        self.chat = chat
        self._read = 0
        self._sent_ids = itertools.count(10_000)

    @property
    def chat_id(self) -> int:
        """The chat this person writes in."""
        return int(self.chat["id"])

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            # One sequence for both sides of a chat, as Telegram numbers a private chat.
            "message_id": next(self.server._message_ids),  # noqa: SLF001 - the server's own counter
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.user,
            **content,
        }

    async def send(self, text: str, *, reply_to: SentMessage | None = None) -> dict[str, Any]:
        """Type and send a text message (a leading /word is a command, as in Telegram).

        `reply_to`: sent as a reply to this message of the bot's (swipe to reply).
        """
        content: dict[str, Any] = {"text": text}
        if reply_to is not None:
            content["reply_to_message"] = {
                "message_id": reply_to.message_id,
                "date": int(time.time()),
                "chat": self.chat,
                "from": BOT_USER,
                "text": reply_to.text,
            }
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return await self.server.push("message", self._message(**content))

    async def send_content(self, **content: Any) -> dict[str, Any]:
        """Send something that is not text: sticker=..., photo=[...], voice=..., location=..."""
        return await self.server.push("message", self._message(**content))

    async def edit(self, original: dict[str, Any], text: str) -> dict[str, Any]:
        """Edit a message sent before."""
        edited = {**original["message"], "text": text, "edit_date": int(time.time())}
        return await self.server.push("edited_message", edited)

    async def tap(
        self,
        label: str,
        message: SentMessage | None = None,
        *,
        as_sent: bool = False,
        wait: bool = True,
    ) -> dict[str, Any]:
        """Tap the button labelled `label` on `message` (default: the latest with buttons).

        `as_sent` taps the keyboard as first sent, as a phone that missed an edit would;
        `wait` as for `press`.
        """
        if message is None:
            with_buttons = [m for m in self.server.messages_to(self.chat_id) if m.buttons()]
            if not with_buttons:
                raise AssertionError("no message with buttons in this chat")
            message = with_buttons[-1]
        buttons = message.buttons(as_sent=as_sent)
        # "5" also taps a labelled scale button such as "5 · Excellent".
        data = next((d for text, d in buttons if text == label), None) or next(
            (d for text, d in buttons if text.startswith(f"{label} · ")), None
        )
        if data is None:
            raise AssertionError(f"no button {label!r} on: {message.text!r} {buttons}")
        return await self.press(message, data, wait=wait)

    async def press(self, message: SentMessage, data: str, *, wait: bool = True) -> dict[str, Any]:
        """Send a callback query with any data (e.g. forged) for a message.

        Returns once the bot has answered it (the phone's spinner stops), unless `wait` is
        false.
        """
        query_id = f"q{self.user['id']}-{next(self._sent_ids)}"  # unique per person
        original = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": self.chat,
            "from": BOT_USER,
            "text": message.text,
        }
        if message.reply_markup:
            original["reply_markup"] = message.reply_markup
        update = await self.server.push(
            "callback_query",
            {
                "id": query_id,
                "from": self.user,
                "chat_instance": str(self.chat_id),
                "message": original,
                "data": data,
            },
        )
        if wait:
            await self.server.wait_for(lambda: query_id in self.server.callback_answers)
        return update

    def toast(self, update: dict[str, Any]) -> str | None:
        """The text the bot showed in answer to a tap (a small pop-up), if any."""
        answer = self.server.callback_answers[update["callback_query"]["id"]]
        text = answer.get("text")
        return str(text) if text else None

    def popup(self, update: dict[str, Any]) -> bool:
        """Whether the answer to a tap was a pop-up to dismiss (not a passing notice)."""
        answer = self.server.callback_answers[update["callback_query"]["id"]]
        return bool(answer.get("show_alert"))

    async def next_message(self, timeout: float = 10) -> SentMessage:
        """The next message the bot sends to this chat (waits for it)."""
        try:
            await self.server.wait_for_messages(self.chat_id, self._read, timeout)
        except TimeoutError:
            raise TimeoutError("the bot did not do what the test waited for") from None
        message = self.server.messages_to(self.chat_id)[self._read]
        self._read += 1
        return message

    def unread(self) -> list[SentMessage]:
        """Messages the bot sent to this chat that the test has not read yet."""
        return self.server.messages_to(self.chat_id)[self._read :]

    def skip_to_end(self) -> None:
        """Mark everything so far as read."""
        self._read = len(self.server.messages_to(self.chat_id))


def _has_web_app_button(markup: object) -> bool:
    """Whether an inline keyboard (as the Bot API receives it) opens a Mini App."""
    if not isinstance(markup, dict):
        return False
    rows = markup.get("inline_keyboard") or []
    return any(isinstance(button, dict) and "web_app" in button for row in rows for button in row)
