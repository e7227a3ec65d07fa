"""One lane per person: their updates in order, everybody else's alongside.

A patient's answer is read-decide-write (which question is current, is this its answer,
store it, ask the next), so two updates from the same person must never run at once. Two
different people share nothing but the database, whose writes are serialised on their own,
so they need not wait for each other. A slow send to one patient (Telegram's flood control,
a hanging connection) then holds up that patient only.

With several workers sharing PostgreSQL, a person's lane also holds a lock in the database
(`across_workers`), so that two workers never decide for the same person at once either.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates handled at once, across all lanes: bounds memory and open connections in a burst.
MAX_CONCURRENT_UPDATES = 256


class Lanes:
    """A lock per person, kept only while someone holds or waits for it.

    Waiters are served first come, first served (asyncio's locks are fair), so a person's
    updates run in the order they were queued.
    """

    def __init__(
        self,
        across_workers: Callable[[int], AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}  # key -> (lock, holders+waiters)
        self._across_workers = across_workers

    @asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        """Run the block alone in `key`'s lane."""
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock, self._shared(key):
                yield
        finally:
            _, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def _shared(self, key: int) -> AbstractAsyncContextManager[None]:
        # Taken once this process's lane is ours: waiting here holds no database connection.
        if self._across_workers is None:
            return nullcontext()
        return self._across_workers(key)

    def __len__(self) -> int:
        """How many lanes are busy."""
        return len(self._locks)


def lane_of(update: object) -> int | None:
    """Whose lane an update runs in: the person who sent it (else its chat), if anyone."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerPersonUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across people, one at a time and in order for each person.

    An update waiting for its lane holds one of the overall slots; a flooding user cannot
    take many of them, since the poller lets through a burst of 20 per user at most.
    """

    def __init__(self, lanes: Lanes, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._lanes = lanes
        self._leaving = False

    def leave_waiting(self) -> None:
        """From now on, updates not yet started are not handled: the bot is stopping.

        Each is in the inbox, not marked handled, so the next start handles it.
        """
        self._leaving = True

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the sender's lane, then handle the update."""
        key = lane_of(update)
        if key is None:
            await self._start(coroutine)
            return
        async with self._lanes.hold(key):
            await self._start(coroutine)

    async def _start(self, coroutine: Awaitable[Any]) -> None:
        if self._leaving:
            if isinstance(coroutine, Coroutine):
                coroutine.close()  # never started: nothing to undo, no "never awaited" warning
            return
        await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down: `Application.stop` waits for updates in flight."""
