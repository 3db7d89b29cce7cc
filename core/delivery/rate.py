"""Sliding-window rate limits for outbound edits (e.g. Slack's ~40 chat.update a
minute per workspace, Discord's 4 edits per 5 s per channel)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class RateWindow:
    """At most `max_events` in any `per_seconds` window; `acquire` waits for a slot.

    Urgent acquirers (a turn's final state) go before the others (progress edits): under
    rate pressure answers land first and progress waits.
    """

    def __init__(self, max_events: int, per_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_events = max_events
        self.per_seconds = per_seconds
        self._clock = clock
        self._events: deque[float] = deque()
        self._lock = asyncio.Lock()  # progress acquirers, one at a time
        self._urgent_lock = asyncio.Lock()  # urgent acquirers, one at a time
        self._urgent_waiting = 0
        self._no_urgent = asyncio.Event()
        self._no_urgent.set()

    def _prune(self, now: float) -> None:
        while self._events and now - self._events[0] >= self.per_seconds:
            self._events.popleft()

    def delay(self) -> float:
        """Seconds until a slot is free (0 if one is free now)."""
        now = self._clock()
        self._prune(now)
        if len(self._events) < self.max_events:
            return 0.0
        return self.per_seconds - (now - self._events[0])

    @property
    def idle(self) -> bool:
        """No edit inside the period and nobody waiting: safe to forget."""
        self._prune(self._clock())
        return not self._events and not self._lock.locked() and not self._urgent_waiting

    async def acquire(self, urgent: bool = False) -> None:
        if urgent:
            await self._acquire_urgent()
            return
        async with self._lock:
            while True:
                await self._no_urgent.wait()
                wait = self.delay()
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            self._events.append(self._clock())

    async def _acquire_urgent(self) -> None:
        self._urgent_waiting += 1
        self._no_urgent.clear()
        try:
            async with self._urgent_lock:
                while (wait := self.delay()) > 0:
                    await asyncio.sleep(wait)
                self._events.append(self._clock())
        finally:
            self._urgent_waiting -= 1
            if not self._urgent_waiting:
                self._no_urgent.set()


class RateWindows:
    """One `RateWindow` per key (workspace, channel…), created on first use."""

    def __init__(self, max_events: int, per_seconds: float) -> None:
        self.max_events = max_events
        self.per_seconds = per_seconds
        self._windows: dict[str, RateWindow] = {}

    def get(self, key: str) -> RateWindow:
        if len(self._windows) > 1000:
            self._forget_idle()
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = RateWindow(self.max_events, self.per_seconds)
        return window

    def _forget_idle(self) -> None:
        """Drop windows with no edit inside their period (a thread per session adds up)."""
        for key, window in list(self._windows.items()):
            if window.idle:
                del self._windows[key]
