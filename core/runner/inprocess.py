"""The in-process runner (the embedded default, on SQLite): turns run in this process.

- Turns of a session run one at a time, in the order they were submitted (their place
  in line is taken before anything is awaited, so concurrent submits keep arrival order).
- Turns of different sessions run concurrently up to `max_concurrent`, and at most
  `max_per_workspace` of one workspace, so a busy workspace always leaves room for others.
- A finished turn frees its slot before its final state is delivered: delivery may wait
  for the platform's rate budget, and must never hold up other turns.
- Cancel reaches a queued turn (even one still waiting for a slot), a running one, and a
  turn owned by another process on the same database (through `cancel_requested`).
- On start and then periodically (`adopt`), turns whose owner process died are taken
  over: queued ones run, running ones end as interrupted with Retry, ended but
  undelivered ones are delivered. Turns of live processes are never touched.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

from core.messages import MsgStatus
from core.runner.base import TurnRunner
from core.runner.executor import PreparedTurn, TurnExecutor
from core.runtime.processes import ProcessRegistry
from core.turns import TurnStatus

log = logging.getLogger(__name__)


@dataclass
class _Queued:
    turn_id: str
    prepared: asyncio.Task[PreparedTurn]


class InProcessRunner(TurnRunner):
    def __init__(self, executor: TurnExecutor, registry: ProcessRegistry, *, max_concurrent: int = 4,
                 max_per_workspace: int | None = None, platforms: Callable[[], list[str]] | None = None) -> None:
        self._executor = executor
        self._registry = registry
        self._slots = asyncio.Semaphore(max_concurrent)
        self._per_workspace = max_per_workspace or max(1, max_concurrent - 1)
        self._workspace_slots: dict[str, asyncio.Semaphore] = {}
        self._platforms = platforms or (lambda: executor.platforms.platforms)
        self._queues: dict[str, deque[_Queued]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._queued: dict[str, _Queued] = {}
        self._running: dict[str, asyncio.Task[TurnStatus]] = {}
        self._cancel_requested: set[str] = set()
        self._done: dict[str, asyncio.Future[TurnStatus]] = {}
        self._stopping = False

    # lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.adopt()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop running turns; they end as interrupted so their messages offer Retry. Turns
        still queued stay stored, owned by this process, and are adopted after it stops."""
        self._stopping = True
        self._executor.shutting_down = True
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)  # let them store their end
        workers = list(self._workers.values())
        if workers:  # each ends after delivering its current turn's end
            _, late = await asyncio.wait(workers, timeout=grace)
            for worker in late:
                worker.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def adopt(self) -> int:
        """Take over the turns of dead processes (for the platforms this process shows)."""
        platforms = self._platforms()
        if not platforms or self._stopping:
            return 0
        await self._registry.reap_local()
        store = self._executor.store
        adopted = 0
        for turn in await store.turns.orphans(platforms, self._registry.alive_ids()):
            if not await store.turns.adopt(turn, self._registry.id):
                continue  # another live process took it first
            adopted += 1
            status = TurnStatus(turn.status)
            if status is TurnStatus.queued:
                await self.submit(turn.id, turn.session_id)
            elif status is TurnStatus.running:
                await self._executor.interrupt(turn.id)
            else:
                await self._executor.deliver_stored(turn.id)
        if adopted:
            log.warning("adopted %d turn(s) left by a stopped process", adopted)
        return adopted

    async def poll_cancels(self) -> None:
        """Cancel turns of this process that Cancel reached through another process."""
        if not self._running and not self._queued:
            return
        for turn_id in await self._executor.store.turns.cancel_requests(self._registry.id):
            await self._cancel_here(turn_id)

    # submitting ------------------------------------------------------------------------------

    async def submit(self, turn_id: str, session_id: str | None = None) -> None:
        if self._stopping:
            return  # stays queued in the database, owned by this process: adopted after it stops
        if session_id is None:
            turn = await self._executor.store.turns.get(turn_id)
            if turn is None:
                raise KeyError(turn_id)
            session_id = turn.session_id
        self._done.setdefault(turn_id, asyncio.get_running_loop().create_future())
        entry = _Queued(turn_id, asyncio.get_running_loop().create_task(self._executor.prepare(turn_id)))
        self._queued[turn_id] = entry
        self._queues.setdefault(session_id, deque()).append(entry)
        if session_id not in self._workers:
            self._workers[session_id] = asyncio.get_running_loop().create_task(self._work(session_id))

    async def _work(self, session_id: str) -> None:
        queue = self._queues[session_id]
        try:
            while queue and not self._stopping:
                entry = queue.popleft()
                status = await self._run_entry(entry)
                self._resolve(entry.turn_id, status)
        finally:
            self._workers.pop(session_id, None)
            if not queue:
                self._queues.pop(session_id, None)

    async def _run_entry(self, entry: _Queued) -> TurnStatus:
        try:
            prepared = await entry.prepared
        except Exception:
            log.exception("could not load turn %s; it stays queued for the next start", entry.turn_id)
            self._queued.pop(entry.turn_id, None)
            return TurnStatus.queued
        workspace = prepared.ref.thread.workspace_id
        async with AsyncExitStack() as slots:
            await slots.enter_async_context(self._workspace_slot(workspace))
            await slots.enter_async_context(self._slots)
            # Cancel may have been pressed while this turn waited (in its session's line or
            # for a slot), here or in another process.
            if await self._cancelled_before_start(entry.turn_id):
                status = None
            else:
                status = await self._execute(prepared)
        if status is None:
            return await self._end_unrun(prepared, MsgStatus.cancelled)
        await self._executor.deliver(prepared)  # the slots are free again
        return status

    def _workspace_slot(self, workspace: str) -> asyncio.Semaphore:
        slot = self._workspace_slots.get(workspace)
        if slot is None:
            if len(self._workspace_slots) > 1000:  # forget idle workspaces
                for key, value in list(self._workspace_slots.items()):
                    if not value.locked() and value._value == self._per_workspace:  # noqa: SLF001
                        del self._workspace_slots[key]
            slot = self._workspace_slots[workspace] = asyncio.Semaphore(self._per_workspace)
        return slot

    async def _cancelled_before_start(self, turn_id: str) -> bool:
        if turn_id in self._cancel_requested:
            self._cancel_requested.discard(turn_id)
            self._queued.pop(turn_id, None)
            return True
        stored = await self._executor.store.turns.get(turn_id)
        if stored is not None and (stored.cancel_requested or stored.status == TurnStatus.cancelled.value):
            self._queued.pop(turn_id, None)
            return True
        return False

    async def _execute(self, prepared: PreparedTurn) -> TurnStatus:
        turn_id = prepared.turn.id
        self._queued.pop(turn_id, None)
        prepared.why_cancelled = lambda: "shutdown" if self._stopping else "cancel"
        task = asyncio.get_running_loop().create_task(self._executor.execute(prepared))
        self._running[turn_id] = task
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            # This worker was cancelled (shutdown): the turn's own task ends as interrupted.
            if not task.done():
                task.cancel()
            try:
                return await task
            except asyncio.CancelledError:
                return TurnStatus.interrupted
        finally:
            self._running.pop(turn_id, None)

    async def _end_unrun(self, prepared: PreparedTurn, status: MsgStatus) -> TurnStatus:
        await self._executor.end_unrun(prepared, status)
        await self._executor.deliver(prepared)
        return TurnStatus.cancelled if status is MsgStatus.cancelled else TurnStatus.interrupted

    def _resolve(self, turn_id: str, status: TurnStatus) -> None:
        future = self._done.pop(turn_id, None)
        if future is not None and not future.done():
            future.set_result(status)

    # control -------------------------------------------------------------------------------

    async def cancel(self, turn_id: str) -> bool:
        if await self._cancel_here(turn_id):
            return True
        # Owned by another process on this database (or not yet picked up here): the owner
        # polls for the request (`poll_cancels`) and a queued turn is skipped when it comes.
        return await self._executor.store.turns.request_cancel(turn_id) is not None

    async def _cancel_here(self, turn_id: str) -> bool:
        task = self._running.get(turn_id)
        if task is not None:
            task.cancel()
            return True
        if turn_id in self._queued:
            self._cancel_requested.add(turn_id)
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
