"""The in-process runner: one worker per busy session, a global concurrency limit.

Turns of a session run one at a time, in the order they were submitted; turns of
different sessions run concurrently up to `max_concurrent`. On start, turns that a
dead process left queued or running (for the platforms this process serves) are
marked interrupted and their messages say so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from core.messages import MsgStatus
from core.runner.base import TurnRunner
from core.runner.executor import PreparedTurn, TurnExecutor
from core.turns import TurnStatus

log = logging.getLogger(__name__)


class InProcessRunner(TurnRunner):
    def __init__(self, executor: TurnExecutor, *, max_concurrent: int = 4,
                 platforms: Callable[[], list[str]] | None = None) -> None:
        self._executor = executor
        self._slots = asyncio.Semaphore(max_concurrent)
        self._platforms = platforms or (lambda: executor.platforms.platforms)
        self._queues: dict[str, asyncio.Queue[PreparedTurn]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._running: dict[str, asyncio.Task[TurnStatus]] = {}
        self._cancel_requested: set[str] = set()
        self._queued: set[str] = set()
        self._done: dict[str, asyncio.Future[TurnStatus]] = {}
        self._stopping = False

    async def start(self) -> None:
        await self._executor.interrupt_stale(self._platforms())

    async def stop(self) -> None:
        """Stop running turns; they end as interrupted so their messages offer Retry."""
        self._stopping = True
        self._executor.shutting_down = True
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)  # let them store and show their end
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def submit(self, turn_id: str) -> None:
        self._done.setdefault(turn_id, asyncio.get_running_loop().create_future())
        prepared = await self._executor.prepare(turn_id)
        session_id = prepared.session_row.id
        queue = self._queues.setdefault(session_id, asyncio.Queue())
        queue.put_nowait(prepared)
        self._queued.add(turn_id)
        if session_id not in self._workers:
            self._workers[session_id] = asyncio.get_running_loop().create_task(self._work(session_id))

    async def _work(self, session_id: str) -> None:
        queue = self._queues[session_id]
        try:
            while not queue.empty() and not self._stopping:
                prepared = queue.get_nowait()
                self._queued.discard(prepared.turn.id)
                status = await self._run_one(prepared)
                self._resolve(prepared.turn.id, status)
        finally:
            self._workers.pop(session_id, None)
            if queue.empty():
                self._queues.pop(session_id, None)

    async def _run_one(self, prepared: PreparedTurn) -> TurnStatus:
        turn_id = prepared.turn.id
        stored = await self._executor.store.turns.get(turn_id)
        if turn_id in self._cancel_requested or (stored and stored.status == TurnStatus.cancelled.value):
            self._cancel_requested.discard(turn_id)
            await self._executor.end_unrun(prepared, MsgStatus.cancelled)
            return TurnStatus.cancelled
        async with self._slots:
            task = asyncio.get_running_loop().create_task(self._executor.execute(prepared))
            self._running[turn_id] = task
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                if not task.done() and not task.cancelling():
                    task.cancel()
                    try:
                        return await task
                    except asyncio.CancelledError:
                        return TurnStatus.interrupted if self._stopping else TurnStatus.cancelled
                return task.result()
            finally:
                self._running.pop(turn_id, None)
                self._cancel_requested.discard(turn_id)

    def _resolve(self, turn_id: str, status: TurnStatus) -> None:
        future = self._done.pop(turn_id, None)
        if future is not None and not future.done():
            future.set_result(status)

    async def cancel(self, turn_id: str) -> bool:
        task = self._running.get(turn_id)
        if task is not None:
            task.cancel()
            return True
        if turn_id in self._queued:
            self._cancel_requested.add(turn_id)
            return True
        turn = await self._executor.store.turns.get(turn_id)
        if turn is not None and turn.status == TurnStatus.queued.value:
            # Queued by another process: mark it so that process skips it.
            await self._executor.store.turns.set_status(turn_id, TurnStatus.cancelled)
            return True
        return False

    async def wait(self, turn_id: str) -> TurnStatus:
        future = self._done.get(turn_id)
        if future is not None:
            return await asyncio.shield(future)
        turn = await self._executor.store.turns.get(turn_id)
        if turn is None:
            raise KeyError(turn_id)
        return TurnStatus(turn.status)
