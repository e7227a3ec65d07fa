"""Where updates come in, by polling or by webhook: stored first, rate-limited, replayed.

Every update is written to the inbox before Telegram is told it arrived (the next
getUpdates offset, or the webhook's 200), and handled from the application's queue. At
start, whatever was stored and never handled goes back in the queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from datetime import datetime

from telegram import Bot, Update

from bot.services.ports import Clock, Inbox

logger = logging.getLogger(__name__)

# Per user: a burst of this many updates, then one a second. A person answering a survey
# never comes near it; a script flooding the bot does, and its excess is dropped unread so
# that it cannot hold up everybody else's answers.
BURST = 20
PER_SECOND = 1.0


class PerUserRate:
    """A token bucket per user: whether another update from them may be handled now."""

    def __init__(self, burst: int = BURST, per_second: float = PER_SECOND) -> None:
        self._burst = burst
        self._rate = per_second
        self._buckets: dict[int, tuple[float, float]] = {}  # user id -> (tokens, at)

    def allow(self, user_id: int, now: float) -> bool:
        """Take a token for the user if there is one."""
        tokens, at = self._buckets.get(user_id, (float(self._burst), now))
        tokens = min(float(self._burst), tokens + (now - at) * self._rate)
        allowed = tokens >= 1
        self._buckets[user_id] = (tokens - 1 if allowed else tokens, now)
        if len(self._buckets) > MAX_TRACKED:  # forget users who have been quiet longest
            for quiet in sorted(self._buckets, key=lambda u: self._buckets[u][1])[:1000]:
                del self._buckets[quiet]
        return allowed


MAX_TRACKED = 50_000
# Updates fetched and not yet handled, at most: twice as many as are handled at once.
MAX_WAITING = 512


class UpdateQueue(asyncio.Queue[object]):
    """The application's update queue, telling how many updates are not yet handled.

    python-telegram-bot takes updates off the queue at once and handles them in tasks; it
    calls `task_done` when one is handled, so the count covers both queued and running.
    """

    def __init__(self) -> None:
        super().__init__()
        self.unfinished = 0
        self._handled = asyncio.Event()

    async def room_for(self, limit: int) -> None:
        """Wait until fewer than `limit` updates are unfinished."""
        while self.unfinished >= limit:
            self._handled.clear()
            await self._handled.wait()

    def put_nowait(self, item: object) -> None:
        """Queue an update (`put` comes here too)."""
        super().put_nowait(item)
        self.unfinished += 1

    def task_done(self) -> None:
        """An update was handled."""
        super().task_done()
        self.unfinished -= 1
        self._handled.set()


class Intake:
    """What the poller and the webhook share: the inbox, the per-user rate, the queue."""

    def __init__(self, bot: Bot, inbox: Inbox, clock: Clock, queue: UpdateQueue) -> None:
        self._bot = bot
        self._inbox = inbox
        self._clock = clock
        self._rate = PerUserRate()
        self.queue = queue

    async def replay(self, received_before: datetime | None = None) -> int:
        """Queue the updates stored before a restart and never handled; how many.

        `received_before`: only those older than that. With several workers, one that died
        after storing an update (and telling Telegram it arrived) leaves it to the others;
        handling one twice is harmless, since a person's updates are decided one at a time
        and a handled update is skipped.
        """
        await self._inbox.forget_handled()
        replayed = await self._inbox.unhandled(received_before)
        if replayed and received_before is None:  # else the caller says whose they were
            logger.warning("handling %d updates received before a restart", len(replayed))
        for body in replayed:
            try:
                update = Update.de_json(json.loads(body), self._bot)
            except (ValueError, TypeError, KeyError):  # stored by an older version, say
                logger.warning("an update stored before a restart could not be read")
                continue
            await self.queue.put(update)
        return len(replayed)

    def now(self) -> datetime:
        """The intake's clock."""
        return self._clock.now()

    async def last_update_id(self) -> int | None:
        """The newest update stored, if any."""
        return await self._inbox.last_update_id()

    async def store(self, updates: Sequence[Update]) -> list[Update]:
        """Store the updates within the rate (dropping the rest); the ones kept.

        When handling has fallen behind, waits first: the rest wait with Telegram (as safe
        as the inbox) rather than thousands of updates in memory.
        """
        await self.queue.room_for(MAX_WAITING)
        kept = self._within_rate(updates)
        await self._inbox.keep(
            [(update.update_id, update.to_json()) for update in kept], self._clock.now()
        )
        return kept

    async def handle(self, updates: Sequence[Update]) -> None:
        """Queue stored updates for the handlers."""
        for update in updates:
            await self.queue.put(update)

    def _within_rate(self, updates: Sequence[Update]) -> list[Update]:
        now = time.monotonic()
        kept = [
            update
            for update in updates
            if update.effective_user is None or self._rate.allow(update.effective_user.id, now)
        ]
        if len(kept) < len(updates):
            logger.warning("dropped %d updates from users over the rate", len(updates) - len(kept))
        return kept
