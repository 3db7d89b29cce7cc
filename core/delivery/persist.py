"""An observer that stores the OutputMessage while it changes: at most every few
seconds (never a write per progress tick). The final state is stored by the runner,
with the turn's end, before it is published."""

from __future__ import annotations

import asyncio
import logging
import time

from core.messages import OutputMessage
from core.storage.store import TurnStore

log = logging.getLogger(__name__)


class PersistingObserver:
    def __init__(self, turns: TurnStore, interval_s: float = 3.0) -> None:
        self._turns = turns
        self._interval_s = interval_s
        self._last_saved = time.monotonic()  # the row was just written when the turn was created
        self._pending: asyncio.Task[None] | None = None
        self.saves = 0

    def on_update(self, message: OutputMessage) -> None:
        now = time.monotonic()
        if now - self._last_saved < self._interval_s or (self._pending and not self._pending.done()):
            return
        self._last_saved = now
        self._pending = asyncio.get_running_loop().create_task(self._save(message))

    async def settled(self) -> None:
        """Wait for a progress save in flight (before the final state is stored)."""
        if self._pending and not self._pending.done():
            await asyncio.shield(self._pending)

    async def on_publish(self, message: OutputMessage) -> None:
        """Nothing left to store: the runner stored the final state before publishing it."""
        await self.settled()

    async def _save(self, message: OutputMessage) -> None:
        try:
            await self._turns.save_output(message)
            self.saves += 1
        except Exception:
            log.exception("could not save the output message of turn %s", message.turn_id)
