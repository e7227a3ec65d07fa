"""Pacing outgoing messages under Telegram's limits.

About 30 messages a second overall, 1 a second per chat, and a pause for everyone when
Telegram answers 429 with `retry_after`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """Spaces sends evenly; time and sleep are injectable so tests need not wait."""

    def __init__(
        self,
        rate: float,
        per_chat_interval: float = 1.0,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1 / rate
        self._per_chat = per_chat_interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._next_for_chat: dict[int, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, chat_id: int) -> None:
        """Return when a message to `chat_id` may be sent."""
        async with self._lock:
            now = self._monotonic()
            start = max(now, self._next_slot, self._paused_until)
            start = max(start, self._next_for_chat.get(chat_id, 0.0))
            if start > now:
                await self._sleep(start - now)
            self._next_slot = start + self._interval
            self._next_for_chat[chat_id] = start + self._per_chat
            if len(self._next_for_chat) > 10_000:
                # Only chats still inside their interval matter.
                self._next_for_chat = {
                    chat: at for chat, at in self._next_for_chat.items() if at > start
                }

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends until `seconds` from now."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    async def back_off(self, attempt: int) -> None:
        """Wait before retrying after a network error: 1, 2, 4... seconds."""
        await self._sleep(min(2.0**attempt, 60.0))
