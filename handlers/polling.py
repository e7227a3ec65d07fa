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
from datetime import timedelta

from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.services.ports import Clock, Inbox
from handlers.followups import retry_seconds

logger = logging.getLogger(__name__)

LONGEST_PAUSE = 30.0  # seconds between tries while Telegram cannot be reached


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

    async def run(self, queue: asyncio.Queue[object]) -> None:
        """Replay what was stored and never handled, then poll until cancelled."""
        await self._inbox.forget_handled()
        replayed = await self._inbox.unhandled()
        if replayed:
            logger.warning("handling %d updates received before a restart", len(replayed))
        for body in replayed:
            await queue.put(Update.de_json(json.loads(body), self._bot))
        last = await self._inbox.last_update_id()
        offset = None if last is None else last + 1
        pause = 1.0
        while True:
            try:
                updates = await self._bot.get_updates(
                    offset=offset, timeout=self._timeout, allowed_updates=self._allowed
                )
            except RetryAfter as error:
                await asyncio.sleep(retry_seconds(error))
                continue
            except TimedOut:
                continue  # a long poll that outlived the HTTP timeout: ask again
            except InvalidToken:
                raise
            except (NetworkError, TelegramError) as error:
                logger.warning("cannot get updates (%s); trying again", type(error).__name__)
                await asyncio.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
                continue
            pause = 1.0
            if not updates:
                continue
            # Stored before the next getUpdates, which tells Telegram they arrived.
            await self._inbox.keep(
                [(update.update_id, update.to_json()) for update in updates], self._clock.now()
            )
            offset = updates[-1].update_id + 1
            for update in updates:
                await queue.put(update)
