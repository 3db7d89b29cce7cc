"""Edit coalescing: many progress ticks become few platform edits.

The latest state wins (rendering happens at send time), edits of one message are at
least `min_interval` apart, an unchanged render is not sent, a shared `RateWindow`
caps edits per workspace or channel, `RateLimited` (HTTP 429) is honoured with its
Retry-After, and the final state always lands.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from core.delivery.rate import RateWindow
from core.errors import RateLimited
from core.messages import OutputMessage

log = logging.getLogger(__name__)

R = TypeVar("R")


class EditCoalescer(Generic[R]):
    def __init__(
        self,
        render: Callable[[OutputMessage], R],
        send: Callable[[R], Awaitable[None]],
        *,
        min_interval: float = 2.0,
        window: RateWindow | None = None,
        final_attempts: int = 8,
    ) -> None:
        self._render = render
        self._send = send
        self._min_interval = min_interval
        self._window = window
        self._final_attempts = final_attempts
        self._latest: OutputMessage | None = None
        self._final = False
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_sent_at: float | None = None
        self._last_render: R | None = None
        self._waiting_for_window = False
        self.edits_sent = 0

    @property
    def in_flight(self) -> asyncio.Task[None] | None:
        """The edit loop while it runs (a shutdown may await it)."""
        return self._task if self._task is not None and not self._task.done() else None

    @property
    def last_render(self) -> R | None:
        return self._last_render

    def prime(self, render: R) -> None:
        """Tell the coalescer what the platform already shows (the initial post)."""
        self._last_render = render
        self._last_sent_at = time.monotonic()

    def update(self, message: OutputMessage) -> None:
        """Remember the latest state; never blocks."""
        self._latest = message
        self._dirty.set()
        self._ensure_task()

    async def finish(self, message: OutputMessage) -> None:
        """Deliver the final state and wait until it has landed (or attempts are spent)."""
        self._latest = message
        self._final = True
        self._dirty.set()
        if self._task is not None and self._waiting_for_window:
            # Queued as progress: wait again, as urgent (nothing was sent by this wait).
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._ensure_task()
        assert self._task is not None
        await asyncio.shield(self._task)

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _wait_interval(self) -> None:
        if self._last_sent_at is None:
            return
        wait = self._min_interval - (time.monotonic() - self._last_sent_at)
        if wait > 0:
            await asyncio.sleep(wait)

    async def _run(self) -> None:
        failures = 0
        while True:
            if not self._final:
                await self._dirty.wait()
            await self._wait_interval()
            if self._window is not None:
                # The final state goes before progress of other messages; while this one
                # waits, its later progress merges into what is rendered below.
                self._waiting_for_window = not self._final
                try:
                    await self._window.acquire(urgent=self._final)
                finally:
                    self._waiting_for_window = False
            self._dirty.clear()
            final_now = self._final
            assert self._latest is not None
            rendered = self._render(self._latest)
            if rendered == self._last_render:
                if final_now:
                    return
                continue
            try:
                await self._send(rendered)
            except RateLimited as exc:
                log.info("edit rate limited; retrying after %.1f s", exc.retry_after)
                await asyncio.sleep(max(exc.retry_after, 0.0))
                self._dirty.set()
                continue
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                log.exception("edit failed (attempt %d)", failures)
                if final_now and failures >= self._final_attempts:
                    return
                await asyncio.sleep(min(2.0**failures * 0.1, 5.0))
                self._dirty.set()
                continue
            failures = 0
            self._last_render = rendered
            self._last_sent_at = time.monotonic()
            self.edits_sent += 1
            if final_now and not self._dirty.is_set():
                return
