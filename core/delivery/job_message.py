"""One platform message per turn: posted once, then only edited.

The lifecycle every chat adapter shares. On the first update the job message is
posted (or, for a retried or interrupted turn, the stored one is edited) and its
platform reference is stored at once, so any process can edit it later. Every later
state goes through an `EditCoalescer`; the final state always lands. If the first
post failed, the final state is posted once at the end rather than retried for
every progress tick, so a lost response never leaves a storm of duplicates.

Adapters subclass `JobMessageObserver` and implement `render`, `_post` (which
calls `_store_ref` when the platform answered) and `_edit`.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from core.delivery.coalescer import EditCoalescer
from core.delivery.port import SaveRef, TurnRef
from core.delivery.rate import RateWindow
from core.messages import OutputMessage

R = TypeVar("R")

log = logging.getLogger(__name__)


class JobMessageObserver(ABC, Generic[R]):
    def __init__(self, turn: TurnRef, save_ref: SaveRef, *, min_interval: float,
                 window: RateWindow | None) -> None:
        self._turn = turn
        self._save_ref = save_ref
        self._ref: dict[str, str] | None = dict(turn.output_ref) if turn.output_ref else None
        self._post_task: asyncio.Task[None] | None = None
        self._latest: OutputMessage | None = None
        self._coalescer: EditCoalescer[R] = EditCoalescer(
            self.render, self._edit, min_interval=min_interval, window=window)

    # platform hooks -----------------------------------------------------------------

    @abstractmethod
    def render(self, message: OutputMessage) -> R:
        """The platform's form of the message (compared to skip unchanged edits)."""

    @abstractmethod
    async def _post(self, rendered: R) -> None:
        """Post the job message; call `_store_ref` once the platform has answered."""

    @abstractmethod
    async def _edit(self, rendered: R) -> None:
        """Edit the stored message; raise `RateLimited` on a 429."""

    # state --------------------------------------------------------------------------------

    @property
    def ref(self) -> dict[str, str] | None:
        return self._ref

    @property
    def edits_sent(self) -> int:
        return self._coalescer.edits_sent

    def pending(self) -> list[asyncio.Task[None]]:
        """Work still running for this turn (the first post, the edit loop), for shutdown."""
        tasks = [self._post_task, self._coalescer.in_flight]
        return [task for task in tasks if task is not None and not task.done()]

    async def settled(self) -> None:
        """Wait for the first post (and its stored reference), if one is under way."""
        if self._post_task is not None:
            await asyncio.shield(self._post_task)

    async def _store_ref(self, ref: dict[str, str]) -> None:
        """Remember where the message is; if storing it fails, this process still edits it
        (only another process could not), so the final state still lands."""
        self._ref = ref
        try:
            await self._save_ref(ref)
        except Exception:
            log.exception("could not store where the job message of turn %s is", self._turn.turn_id)

    # OutputObserver ---------------------------------------------------------------------

    def on_update(self, message: OutputMessage) -> None:
        self._latest = message
        if self._ref is not None:
            self._coalescer.update(message)
        elif self._post_task is None:
            self._post_task = asyncio.get_running_loop().create_task(self._post_first(message))

    async def on_publish(self, message: OutputMessage) -> None:
        self._latest = message
        if self._post_task is not None:
            await asyncio.shield(self._post_task)
        if self._ref is None:
            await self._post(self.render(message))  # the job message never landed: post the end once
        else:
            await self._coalescer.finish(message)

    async def _post_first(self, message: OutputMessage) -> None:
        rendered = self.render(message)
        await self._post(rendered)
        if self._ref is None:
            return
        self._coalescer.prime(rendered)
        if self._latest is not None and self.render(self._latest) != rendered:
            self._coalescer.update(self._latest)
