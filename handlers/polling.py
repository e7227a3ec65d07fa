"""Long polling that stores every update before Telegram is told it arrived.

python-telegram-bot's own Updater confirms a batch of updates (by asking for the next
offset) as soon as it has queued them, so a crash while they wait is the end of them. This
poller writes each batch to the inbox first and only then asks for the next, and at start
puts back in the queue whatever was stored and never handled.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from datetime import timedelta

from telegram import Bot, Update
from telegram.error import InvalidToken, RetryAfter, TimedOut

from bot.services.ports import Clock, Inbox
from handlers.followups import retry_seconds

logger = logging.getLogger(__name__)

LONGEST_PAUSE = 30.0  # seconds between tries while Telegram cannot be reached
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


class DurablePoller:
    """Fetches updates with getUpdates into the application's queue, through the inbox."""

    def __init__(
        self,
        bot: Bot,
        inbox: Inbox,
        clock: Clock,
        *,
        allowed_updates: list[str],
        poll_timeout: timedelta,
    ) -> None:
        self._bot = bot
        self._inbox = inbox
        self._clock = clock
        self._allowed = allowed_updates
        self._timeout = poll_timeout
        self._rate = PerUserRate()

    async def run(self, queue: UpdateQueue) -> None:
        """Replay what was stored and never handled, then poll until cancelled.

        Nothing but cancellation ends it: with the fetcher gone the bot would run on deaf.
        """
        await self._replay(queue)
        last = await self._inbox.last_update_id()
        offset = None if last is None else last + 1
        pause = 1.0
        while True:
            # When handling falls behind, the rest wait with Telegram (as safe as the inbox)
            # rather than thousands of updates in memory.
            await queue.room_for(MAX_WAITING)
            try:
                updates = await self._bot.get_updates(
                    offset=offset, timeout=self._timeout, allowed_updates=self._allowed
                )
                pause = 1.0
                if not updates:
                    continue
                kept = self._within_rate(updates)
                # Stored before the next getUpdates, which tells Telegram they arrived; if
                # storing fails, the same batch is fetched again.
                await self._inbox.keep(
                    [(update.update_id, update.to_json()) for update in kept], self._clock.now()
                )
            except RetryAfter as error:
                await asyncio.sleep(retry_seconds(error))
                continue
            except TimedOut:
                continue  # a long poll that outlived the HTTP timeout: ask again
            except Exception as error:  # noqa: BLE001 - see the docstring
                reason = "the bot token was rejected" if isinstance(error, InvalidToken) else ""
                logger.warning(
                    "cannot get updates (%s%s); trying again",
                    type(error).__name__,
                    f": {reason}" if reason else "",
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
                continue
            offset = updates[-1].update_id + 1
            for update in kept:
                await queue.put(update)

    async def _replay(self, queue: asyncio.Queue[object]) -> None:
        await self._inbox.forget_handled()
        replayed = await self._inbox.unhandled()
        if replayed:
            logger.warning("handling %d updates received before a restart", len(replayed))
        for body in replayed:
            try:
                update = Update.de_json(json.loads(body), self._bot)
            except (ValueError, TypeError, KeyError):  # stored by an older version, say
                logger.warning("an update stored before a restart could not be read")
                continue
            await queue.put(update)

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
