"""Long polling that stores every update before Telegram is told it arrived.

python-telegram-bot's own Updater confirms a batch of updates (by asking for the next
offset) as soon as it has queued them, so a crash while they wait is the end of them. This
poller has each batch stored (see `Intake`) and only then asks for the next.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import InvalidToken, RetryAfter, TimedOut

from handlers.followups import retry_seconds
from handlers.intake import Intake

logger = logging.getLogger(__name__)

LONGEST_PAUSE = 30.0  # seconds between tries while Telegram cannot be reached


class DurablePoller:
    """Fetches updates with getUpdates into the application's queue, through the inbox."""

    def __init__(
        self,
        bot: Bot,
        intake: Intake,
        *,
        allowed_updates: list[str],
        poll_timeout: timedelta,
    ) -> None:
        self._bot = bot
        self._intake = intake
        self._allowed = allowed_updates
        self._timeout = poll_timeout

    async def run(self) -> None:
        """Replay what was stored and never handled, then poll until cancelled.

        Nothing but cancellation ends it: with the fetcher gone the bot would run on deaf.
        """
        await self._intake.replay()
        last = await self._intake.last_update_id()
        offset = None if last is None else last + 1
        pause = 1.0
        webhook_removed = False
        while True:
            try:
                if not webhook_removed:
                    # getUpdates is refused while a webhook is set (the bot ran in webhook
                    # mode before); its pending updates stay with Telegram for us.
                    await self._bot.delete_webhook(drop_pending_updates=False)
                    webhook_removed = True
                updates = await self._bot.get_updates(
                    offset=offset, timeout=self._timeout, allowed_updates=self._allowed
                )
                pause = 1.0
                if not updates:
                    continue
                # Stored before the next getUpdates, which tells Telegram they arrived; if
                # storing fails, the same batch is fetched again.
                kept = await self._intake.store(updates)
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
            await self._intake.handle(kept)
