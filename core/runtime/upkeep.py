"""The periodic upkeep every process runs beside its work.

- Cancel pressed in another process reaches this process's turns (`poll_cancels`).
- What dead processes left is adopted: stored requests (`Intake.adopt`) and turns
  (`TurnRunner.adopt`). Each is claimed atomically, so two live processes never
  both take the same thing.
- The event ledger forgets keys older than the retention (platforms stop redelivering
  an event after minutes; keys are kept for days to be safe).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

from core.runner.base import TurnRunner
from core.runtime.intake import Intake
from core.storage.store import EventLedger

log = logging.getLogger(__name__)


class Upkeep:
    def __init__(self, runner: TurnRunner, intake: Intake, ledger: EventLedger, *, cancel_poll_s: float = 2.0,
                 adopt_s: float = 5.0, prune_s: float = 3600.0, ledger_retention_days: float = 14.0) -> None:
        self._jobs: list[tuple[float, Callable[[], Awaitable[object]]]] = [
            (cancel_poll_s, runner.poll_cancels),
            (adopt_s, intake.adopt),
            (adopt_s, runner.adopt),
            (prune_s, self._prune),
        ]
        self._ledger = ledger
        self._retention = timedelta(days=ledger_retention_days)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def _prune(self) -> None:
        removed = await self._ledger.prune(datetime.now(timezone.utc) - self._retention)
        if removed:
            log.info("event ledger: forgot %d key(s) older than %s", removed, self._retention)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, grace: float = 10.0) -> None:
        """Let the step under way finish (cancelling a database write half-way can leave
        SQLite's write lock held by a discarded connection), then stop."""
        self._stopping.set()
        if self._task is not None:
            done, _ = await asyncio.wait([self._task], timeout=grace)
            if not done:
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        due = [time.monotonic() + period for period, _ in self._jobs]
        due[-1] = time.monotonic()  # prune once at start-up
        while not self._stopping.is_set():
            now = time.monotonic()
            for index, (period, job) in enumerate(self._jobs):
                if self._stopping.is_set():
                    return
                if now >= due[index]:
                    due[index] = now + period
                    try:
                        await job()
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.warning("upkeep step %s failed; it runs again later", job.__name__, exc_info=True)
            try:
                await asyncio.wait_for(self._stopping.wait(), max(0.05, min(due) - time.monotonic()))
            except TimeoutError:
                pass
