"""The distributed runner (PostgreSQL): turns run as procrastinate jobs on worker processes.

Every process of a deployment (web, slack, discord, worker) uses this runner on the
same database. Adapter processes accept a turn, post its "Queued…" message and defer
a job; `director-bot worker` processes run the jobs (`work=True`).

- One running turn per thread across all workers: the job's `lock` is the session id,
  and procrastinate starts a locked job only when no earlier one of the same lock waits
  or runs. A later turn of a thread never gets a higher priority than an earlier one,
  so the thread's order holds.
- Fairness: a job's priority is minus its workspace's backlog when it is deferred, so a
  quiet workspace's request goes before a busy workspace's thousandth; and at most
  `max_per_workspace` turns of one workspace run at once (checked under a PostgreSQL
  advisory lock when a job starts; a job over the limit is put back for a moment).
- Cancel from any process: a job not yet started is cancelled in the queue (and its
  message updated by the process that pressed Cancel); a running one is aborted, which
  procrastinate delivers to the worker as asyncio cancellation; the turn ends as cancelled.
- A worker that dies mid-turn stops heartbeating; within about 40 s another worker (or any
  process showing the platform) finds the stalled job, marks the turn interrupted with
  Retry on the same message, and finishes the job so the thread's next turns can run.
  A turn is never run twice automatically: its agents may have had effects (an upload,
  a paid generation), so the person decides with Retry.
- Delivery never holds a worker slot: a finished turn's final state is delivered after
  the job returns; if the worker dies first, the undelivered end is delivered by whoever
  adopts the turn.
- Graceful stop (SIGTERM): the worker takes no new job, gives running ones
  `shutdown_grace_s`, then aborts them (they end as interrupted with Retry).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from procrastinate import App, PsycopgConnector
from procrastinate import exceptions as queue_errors
from procrastinate.job_context import AbortReason, JobContext
from procrastinate.jobs import Job, Status
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from sqlalchemy import func, select, text

from core.messages import MsgStatus
from core.runner.base import TurnRunner
from core.runner.executor import TurnExecutor
from core.runtime.processes import ProcessRegistry
from core.storage.models import SessionRow, TurnRow
from core.turns import TurnStatus

log = logging.getLogger(__name__)

TASK_NAME = "director.run_turn"
UNFINISHED = (TurnStatus.queued.value, TurnStatus.running.value)


class WorkspaceBusy(Exception):
    """The turn's workspace already runs its share of turns: try again shortly."""


class _BusyRetry(BaseRetryStrategy):
    """Retry only `WorkspaceBusy`, soon and without limit; a turn that failed is never retried
    automatically (the person has Retry)."""

    def __init__(self, wait_s: float) -> None:
        self._wait_s = wait_s

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, WorkspaceBusy):
            return RetryDecision(retry_in={"seconds": self._wait_s})
        return None


@dataclass
class QueueOptions:
    concurrency: int = 4  # turns one worker runs at once
    max_per_workspace: int = 3
    shutdown_grace_s: float = 20.0
    busy_retry_s: float = 1.0
    heartbeat_s: float = 10.0
    stalled_after_s: float = 30.0
    poll_s: float = 2.0  # workers also look for jobs this often (a turn put back when its workspace was busy)


def queue_app(conninfo: str, search_path: str | None = None) -> App:
    """A procrastinate App on `conninfo` (libpq form); `search_path` for test schemas."""
    kwargs: dict[str, Any] = {"conninfo": conninfo, "min_size": 1, "max_size": 10}
    if search_path:
        kwargs["kwargs"] = {"options": f"-csearch_path={search_path}"}
    return App(connector=PsycopgConnector(**kwargs))


class QueueRunner(TurnRunner):
    def __init__(self, executor: TurnExecutor, registry: ProcessRegistry, queue: App, *, work: bool = False,
                 options: QueueOptions | None = None) -> None:
        self._executor = executor
        self._registry = registry
        self._queue = queue
        self._work = work
        self.options = options or QueueOptions()
        self._task = queue.task(name=TASK_NAME, pass_context=True, retry=_BusyRetry(self.options.busy_retry_s))(
            self._run_job)
        self._worker: Any = None
        self._worker_task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self._stopping = False

    @property
    def store(self) -> Any:
        return self._executor.store

    # lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._queue.open_async()
        if self._work:
            from procrastinate.worker import Worker

            self._worker = Worker(
                self._queue, concurrency=self.options.concurrency, name=f"worker-{self._registry.id[:8]}",
                install_signal_handlers=False, shutdown_graceful_timeout=self.options.shutdown_grace_s,
                update_heartbeat_interval=self.options.heartbeat_s,
                stalled_worker_timeout=self.options.stalled_after_s,
                fetch_job_polling_interval=self.options.poll_s, abort_job_polling_interval=self.options.poll_s,
            )
            self._worker_task = asyncio.get_running_loop().create_task(self._worker.run())
        await self.adopt()

    async def stop(self) -> None:
        self._stopping = True
        if self._worker is not None and self._worker_task is not None:
            self._executor.shutting_down = True
            self._worker.stop()  # waits shutdown_grace_s for running turns, then aborts them
            await asyncio.gather(self._worker_task, return_exceptions=True)
        if self._deliveries:
            await asyncio.wait(self._deliveries, timeout=self.options.shutdown_grace_s)
        await self._queue.close_async()

    # submitting --------------------------------------------------------------------------------

    async def submit(self, turn_id: str, session_id: str | None = None) -> None:
        """Show the turn as queued, then defer its job; returns at once (the turn is stored:
        if this process dies first, the adoption sweep of a live one defers it)."""
        self._background(self._show_and_defer(turn_id))

    async def _show_and_defer(self, turn_id: str) -> None:
        """The message is posted here before the job exists, so a worker only ever edits it."""
        try:
            prepared = await self._executor.prepare(turn_id)
            await prepared.output.settled()
            await self._defer(turn_id, prepared.session_row.id, prepared.ref.thread.workspace_id)
        except Exception:
            log.exception("could not queue turn %s; the adoption sweep will", turn_id)

    async def _defer(self, turn_id: str, session_id: str, workspace_id: str) -> None:
        priority = await self._priority(session_id, workspace_id)
        try:
            job_id = await self._task.configure(lock=session_id, queueing_lock=turn_id,
                                                priority=priority).defer_async(turn_id=turn_id)
        except queue_errors.AlreadyEnqueued:
            return  # another process deferred it (an adoption race): one job only
        await self.store.turns.set_owner(turn_id, self._registry.id, job_id=job_id)

    async def _priority(self, session_id: str, workspace_id: str) -> int:
        """Minus the workspace's unfinished turns, and never above the thread's waiting jobs."""
        async with self.store.sessionmaker() as db:
            backlog = await db.scalar(
                select(func.count()).select_from(TurnRow).join(SessionRow, SessionRow.id == TurnRow.session_id)
                .where(SessionRow.workspace_id == workspace_id, TurnRow.status.in_(UNFINISHED)))
            earlier = await db.scalar(text(
                "SELECT min(priority) FROM procrastinate_jobs WHERE lock = :lock AND status IN ('todo', 'doing')"),
                {"lock": session_id})
        priority = -int(backlog or 0)
        return min(priority, int(earlier)) if earlier is not None else priority

    # running (workers) -------------------------------------------------------------------------

    async def _run_job(self, context: JobContext, turn_id: str) -> None:
        try:
            await self._run_turn(context, turn_id)
        finally:
            if context.job.id is not None:
                self._background(self._wake_workers_after(context.job.id))

    async def _wake_workers_after(self, job_id: int) -> None:
        """Once this job is marked finished, wake the workers: the thread's next turn (held
        back by the job's lock) can start now rather than at the next poll."""
        manager = self._queue.job_manager
        for _ in range(200):
            if await manager.get_job_status_async(job_id) not in (Status.DOING, Status.TODO):
                break
            await asyncio.sleep(0.01)
        async with self.store.sessionmaker.begin() as db:
            await db.execute(text("SELECT pg_notify('procrastinate_any_queue_v1', "
                                  "json_build_object('type', 'job_inserted', 'job_id', :id)::text)"), {"id": job_id})

    async def _run_turn(self, context: JobContext, turn_id: str) -> None:
        turn = await self.store.turns.get(turn_id)
        if turn is None or TurnStatus(turn.status).is_final:
            return  # cancelled before it started, or adopted and ended
        if not await self._claim(turn):
            raise WorkspaceBusy(turn_id)
        if turn.cancel_requested:
            prepared = await self._executor.prepare(turn_id, show_queued=False)
            await self._executor.end_unrun(prepared, MsgStatus.cancelled)
            self._deliver_later(prepared)
            return
        prepared = await self._executor.prepare(turn_id, show_queued=False)
        prepared.why_cancelled = lambda: (
            "shutdown" if context.abort_reason() == AbortReason.SHUTDOWN or self._stopping else "cancel")
        await self._executor.execute(prepared)
        self._deliver_later(prepared)  # the job (and its slot) ends now; the final edit may wait

    async def _claim(self, turn: TurnRow) -> bool:
        """Start the turn here unless its workspace already runs its share (exact across
        workers: counted under an advisory lock on the workspace)."""
        async with self.store.sessionmaker.begin() as db:
            session = await db.get(SessionRow, turn.session_id)
            workspace = session.workspace_id if session is not None else ""
            await db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"ws:{workspace}"})
            running = await db.scalar(
                select(func.count()).select_from(TurnRow).join(SessionRow, SessionRow.id == TurnRow.session_id)
                .where(SessionRow.workspace_id == workspace, TurnRow.status == TurnStatus.running.value,
                       TurnRow.owner.in_(self._registry.alive_ids())))
            if int(running or 0) >= self.options.max_per_workspace:
                return False
            row = await db.get(TurnRow, turn.id)
            assert row is not None
            row.status, row.owner = TurnStatus.running.value, self._registry.id
        return True

    def _deliver_later(self, prepared: Any) -> None:
        self._background(self._executor.deliver(prepared))

    def _background(self, work: Any) -> None:
        """Work after a job's end (delivery, wake-ups), awaited at shutdown."""
        task = asyncio.get_running_loop().create_task(work)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    # adoption ----------------------------------------------------------------------------------

    async def adopt(self) -> int:
        """Stalled jobs of dead workers end as interrupted; turns a dead process accepted but
        never deferred are deferred; ends a dead worker never delivered are delivered."""
        if self._stopping:
            return 0
        await self._registry.reap_local()
        platforms = self._executor.platforms.platforms
        adopted = await self._interrupt_stalled(platforms)
        adopted += await self._defer_forgotten()
        for turn in await self.store.turns.orphans(platforms, self._registry.alive_ids()):
            status = TurnStatus(turn.status)
            if status is TurnStatus.queued and turn.job_id is None:
                adopted += await self._requeue(turn)
            elif status.is_final and await self.store.turns.adopt(turn, self._registry.id):
                await self._executor.deliver_stored(turn.id)
                adopted += 1
        if adopted:
            log.warning("adopted %d turn(s) left by a stopped process", adopted)
        return adopted

    async def _defer_forgotten(self, older_than_s: float = 60.0) -> int:
        """Queued turns that never got a job although their process lives (deferring failed):
        defer them, unless a job for them exists after all."""
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than_s)
        async with self.store.sessionmaker() as db:
            turns = list(await db.scalars(select(TurnRow).where(
                TurnRow.status == TurnStatus.queued.value, TurnRow.job_id.is_(None), TurnRow.created_at < cutoff)))
        return sum([await self._requeue(turn) for turn in turns])

    async def _requeue(self, turn: TurnRow) -> int:
        """Defer a stored turn that has no job: 1 if this process deferred it. A job may exist
        after all (its process died between deferring and noting it): then it is only noted,
        never deferred twice."""
        async with self.store.sessionmaker() as db:
            job_id = await db.scalar(text(
                "SELECT id FROM procrastinate_jobs WHERE task_name = :task AND args->>'turn_id' = :turn LIMIT 1"),
                {"task": TASK_NAME, "turn": turn.id})
        if job_id is not None:
            await self.store.turns.set_owner(turn.id, turn.owner or self._registry.id, job_id=int(job_id))
            return 0
        if not await self.store.turns.adopt(turn, self._registry.id):
            return 0
        session = await self.store.sessions.get(turn.session_id)
        await self._defer(turn.id, turn.session_id, session.workspace_id if session else "")
        return 1

    async def _interrupt_stalled(self, platforms: list[str]) -> int:
        jobs = await self._queue.job_manager.get_stalled_jobs(
            task_name=TASK_NAME, seconds_since_heartbeat=self.options.stalled_after_s)
        count = 0
        for job in jobs:
            turn = await self.store.turns.get(str(job.task_kwargs.get("turn_id", "")))
            if turn is not None:
                session = await self.store.sessions.get(turn.session_id)
                if session is None or session.platform not in platforms:
                    continue  # a process that shows this platform will do it
                if not await self.store.turns.adopt(turn, self._registry.id):
                    continue
                if not TurnStatus(turn.status).is_final:
                    await self._executor.interrupt(turn.id)
                    count += 1
            try:
                assert job.id is not None
                await self._queue.job_manager.finish_job_by_id_async(job.id, status=Status.FAILED,
                                                                      delete_job=False)
            except Exception:  # another process finished it first
                log.debug("stalled job %s was already finished", job.id)
        if count:
            log.warning("%d turn(s) of a worker that stopped responding are marked interrupted", count)
        return count

    # control -------------------------------------------------------------------------------------

    async def cancel(self, turn_id: str) -> bool:
        turn = await self.store.turns.request_cancel(turn_id)
        if turn is None:
            return False
        if turn.job_id is None:
            return True  # not deferred yet: the worker sees cancel_requested when it starts
        manager = self._queue.job_manager
        if await manager.cancel_job_by_id_async(turn.job_id):
            # It never started: end it here, where its message can be updated.
            prepared = await self._executor.prepare(turn_id, show_queued=False)
            await self._executor.end_unrun(prepared, MsgStatus.cancelled)
            await self._executor.deliver(prepared)
            return True
        await manager.cancel_job_by_id_async(turn.job_id, abort=True)
        return True

    async def wait(self, turn_id: str) -> TurnStatus:
        """Wait for the turn's end to be delivered (polls the database; tests and the CLI)."""
        delay = 0.05
        while True:
            turn = await self.store.turns.get(turn_id)
            if turn is None:
                raise KeyError(turn_id)
            if TurnStatus(turn.status).is_final and turn.delivered:
                return TurnStatus(turn.status)
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    async def workers_alive(self) -> int:
        return await self._registry.count_alive("worker")
