"""The test suite's fake Telegram: the demo's local Bot API, plus what only tests need.

On top of `bot.local_telegram` (getUpdates, sendMessage, edits, callback answers, people who
type and tap): injected faults (429 with retry_after, 403, timeouts, answers carried out
late), Telegram's flood control, redelivered updates, webhook delivery to one worker or
several behind a balancer, group chats for `check-config --online`, deleted messages. None
of it ships in the wheel.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from http import HTTPStatus
from inspect import signature
from typing import Any

from aiohttp import ClientError, ClientSession, web
from telegram import ChatMemberAdministrator, ChatMemberRestricted

from bot.local_telegram import (
    BOT_USER,
    TOKEN,
    Call,
    LocalTelegram,
    Person,
    SentMessage,
    error_response,
)

__all__ = ["BOT_USER", "TOKEN", "Call", "FakeTelegram", "Fault", "Person", "SentMessage"]


@dataclass
class Fault:
    """An error the server answers instead of the real result."""

    status: int
    description: str
    retry_after: int | None = None
    chat_id: int | None = None  # only calls to this chat fail; None: any call
    after_seconds: float = 0
    """With status 200: carry the call out, but answer only this much later (a bot whose
    timeout is shorter sees a timeout, though the message arrived)."""
    before_seconds: float = 0
    """With status 200: carry the call out only this much later (Telegram is slow)."""


@dataclass
class FakeTelegram(LocalTelegram):
    """The server, with faults to inject. Start it with `await start()`."""

    faults: dict[str, list[Fault]] = field(default_factory=dict)
    max_sends_per_second: float | None = None
    """Like Telegram: more sendMessage calls than this in a second get 429."""
    flood_every: int | None = None
    """Also refuse every Nth sendMessage with 429, as Telegram sometimes does."""
    flood_retry_after: int = 2
    webhook_listen: str = "127.0.0.1:8080"
    """Where the bot listens in webhook mode: the fake posts there, as a proxy would pass on."""
    webhook_workers: tuple[str, ...] = ()
    """Several workers' addresses instead: each update goes to the next, round-robin, as a
    load balancer passes them on; one that does not answer 200 gets the next update's turn
    skipped to the following worker, as a health-checking balancer would."""
    groups: dict[int, tuple[str, str]] = field(default_factory=dict)
    """Group chats the bot knows: id -> (title, the bot's membership: member, administrator,
    restricted (may not post), left or kicked). getChat of any other chat is "not found"."""
    retry_windows: list[tuple[float, float]] = field(default_factory=list)
    """Every 429 given, as (from, until) in the time source's seconds."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._recent_sends: list[float] = []
        self._sends = 0
        self.webhook_statuses: list[int] = []
        """The HTTP status of every webhook delivery, in order."""
        self._delivering: asyncio.Task[None] | None = None

    async def _intercept(
        self, method: str, params: dict[str, Any], call: Call
    ) -> tuple[web.Response | None, float]:
        """The next fault queued for this call, or Telegram's flood control."""
        fault = self._take_fault(method, params) or self._flood(method, call.at)
        if fault is None:
            return None, 0.0
        if fault.status == HTTPStatus.OK:  # carried out, late, or answered late
            await asyncio.sleep(fault.before_seconds)
            return None, fault.after_seconds
        call.status = fault.status
        return error_response(fault.status, fault.description, fault.retry_after), 0.0

    def in_group(self, person: Person, chat_id: int, title: str = "Clinic staff") -> Person:
        """The same person, writing in a group chat."""
        return Person(self, person.user, {"id": chat_id, "type": "supergroup", "title": title})

    async def redeliver(self, update: dict[str, Any]) -> None:
        """Deliver an update again, as Telegram may after a restart or a network error."""
        async with self._changed:
            self._redeliver.append(update)
            self._changed.notify_all()

    def confirmed(self, update: dict[str, Any]) -> bool:
        """Whether the bot has told Telegram it received this update (a later offset)."""
        pending = self._updates + self._redeliver
        return all(u["update_id"] != update["update_id"] for u in pending)

    def fail_next(self, method: str, fault: Fault, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with `fault`."""
        self.faults.setdefault(method, []).extend([fault] * times)

    def answer_late(self, method: str, seconds: float, chat_id: int | None = None) -> None:
        """Carry out the next call of `method` (to `chat_id`), but answer it `seconds` late."""
        self.fail_next(method, Fault(200, "OK", chat_id=chat_id, after_seconds=seconds))

    def carry_out_late(self, method: str, seconds: float, chat_id: int | None = None) -> None:
        """Carry out the next call of `method` (to `chat_id`) only `seconds` after it came."""
        self.fail_next(method, Fault(200, "OK", chat_id=chat_id, before_seconds=seconds))

    async def delete_message(self, chat_id: int, message_id: int) -> None:
        """Delete a message, as a member of the chat may."""
        async with self._changed:
            self.messages = [
                m for m in self.messages if (m.chat_id, m.message_id) != (chat_id, message_id)
            ]
            self._by_chat[chat_id] = [
                m for m in self._by_chat.get(chat_id, []) if m.message_id != message_id
            ]
            self._changed.notify_all()

    def _flood(self, method: str, now: float) -> Fault | None:
        """Telegram's flood control, as far as the tests need it."""
        if method != "sendMessage":
            return None
        self._sends += 1
        self._recent_sends = [at for at in self._recent_sends if at > now - 1]
        over_limit = (
            self.max_sends_per_second is not None
            and len(self._recent_sends) >= self.max_sends_per_second
        )
        unlucky = self.flood_every is not None and self._sends % self.flood_every == 0
        if not (over_limit or unlucky):
            self._recent_sends.append(now)
            return None
        self.retry_windows.append((now, now + self.flood_retry_after))
        description = f"Too Many Requests: retry after {self.flood_retry_after}"
        return Fault(429, description, self.flood_retry_after)

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        queued = self.faults.get(method, [])
        for index, fault in enumerate(queued):
            if fault.chat_id is None or fault.chat_id == params.get("chat_id"):
                return queued.pop(index)
        return None

    async def _api_getChat(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        if chat_id not in self.groups:
            return error_response(400, "Bad Request: chat not found")
        title, _ = self.groups[chat_id]
        return {
            "id": chat_id,
            "type": "supergroup",
            "title": title,
            "accent_color_id": 0,
            "max_reaction_count": 11,
        }

    async def _api_getChatMember(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        if chat_id not in self.groups:
            return error_response(400, "Bad Request: chat not found")
        _, status = self.groups[chat_id]
        member: dict[str, Any] = {"status": status, "user": BOT_USER}
        if status == "administrator":
            granted = signature(ChatMemberAdministrator).parameters
            flags = [name for name in granted if name.startswith("can_") or name == "is_anonymous"]
            member |= dict.fromkeys(flags, False)
        if status == "restricted":
            # Every permission the Bot API lists (as this python-telegram-bot knows them),
            # none granted: the bot may not post.
            rights = [
                name
                for name in signature(ChatMemberRestricted).parameters
                if name.startswith("can_")
            ]
            member |= {"is_member": True, "until_date": 0, **dict.fromkeys(rights, False)}
        if status == "kicked":
            member["until_date"] = 0
        return member

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url", ""))
        if not url.startswith("https://"):
            return error_response(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        await self._stop_delivering()
        self.webhook = params
        self._delivering = asyncio.create_task(self._deliver_to_webhook())
        return True

    def webhook_target(self, listen: str) -> str:
        """Where to POST: the webhook's path on the bot's own listener (the proxy's job)."""
        if self.webhook is None:
            raise AssertionError("no webhook is set")
        path = "/" + str(self.webhook["url"]).split("://", 1)[1].partition("/")[2]
        return f"http://{listen}{path}"

    async def _deliver_to_webhook(self) -> None:
        """Like Telegram: POST pending updates in order; keep each until it gets a 200."""
        turn = 0
        async with ClientSession() as session:
            while True:
                workers = self.webhook_workers or (self.webhook_listen,)
                listen = workers[turn % len(workers)]
                turn += 1
                async with self._changed:
                    await self._changed.wait_for(
                        lambda: bool(self._redeliver or self._updates) or self._closing
                    )
                    if self._closing:
                        return
                    update = (self._redeliver + self._updates)[0]
                headers = {"X-Telegram-Bot-Api-Secret-Token": str(self.webhook_secret)}
                try:
                    async with session.post(
                        self.webhook_target(listen), json=update, headers=headers
                    ) as response:
                        status = response.status
                except ClientError:
                    status = 0  # nobody listening: the bot is down
                self.webhook_statuses.append(status)
                if status != HTTPStatus.OK:
                    await asyncio.sleep(0.05)
                    continue
                async with self._changed:
                    if update in self._redeliver:
                        self._redeliver.remove(update)
                    elif update in self._updates:
                        self._updates.remove(update)
                    self._changed.notify_all()

    @property
    def webhook_secret(self) -> str | None:
        """The secret setWebhook was given."""
        return None if self.webhook is None else self.webhook.get("secret_token")

    async def _stop_delivering(self) -> None:
        if self._delivering is not None:
            self._delivering.cancel()
            await asyncio.gather(self._delivering, return_exceptions=True)
            self._delivering = None
