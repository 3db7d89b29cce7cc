"""Requests stored before they are acknowledged, then handled in order per workspace.

An adapter calls `record(...)` with the raw request and answers the platform only
once it returns: the request is then in the database (`inbox`), so a crash at any
moment after the ack loses nothing. The writes of a burst are grouped into few
transactions (`GroupCommit`), so acks stay fast without queueing behind each other.

Handling happens after the ack, in the background: the requests of one workspace one
at a time in the order they came (a thread's reply never overtakes its mention), and
workspaces side by side up to `concurrency`, so one workspace's burst never delays
another's. A handled request is deleted (the core's accept deletes it in the same
transaction that stores its turn). A request whose handler fails is tried again, up
to `max_attempts`, then kept with `failed` set and logged. Requests left by a dead
process are adopted by a live process that serves the same platform.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession as DBSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.messages import utcnow
from core.runtime.group_commit import GroupCommit
from core.runtime.processes import ProcessRegistry
from core.storage.models import InboxRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboxItem:
    id: str
    platform: str
    workspace_id: str
    kind: str
    payload: dict[str, Any]

    @classmethod
    def of(cls, row: InboxRow) -> InboxItem:
        return cls(row.id, row.platform, row.workspace_id, row.kind, row.payload)


Handler = Callable[[InboxItem], Awaitable[None]]


class Intake:
    def __init__(self, sessions: async_sessionmaker[DBSession], registry: ProcessRegistry, *,
                 concurrency: int = 8, max_attempts: int = 3, retry_delay_s: float = 1.0) -> None:
        self._sessions = sessions
        self._registry = registry
        self._handlers: dict[str, Handler] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._max_attempts = max_attempts
        self._retry_delay_s = retry_delay_s
        self._queues: dict[tuple[str, str], deque[InboxItem]] = {}
        self._consumers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._queued_ids: set[str] = set()
        self._inserts: GroupCommit[dict[str, Any], InboxItem] = GroupCommit(self._insert)
        self._deletes: GroupCommit[str, None] = GroupCommit(self._delete)
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False

    def register(self, platform: str, handler: Handler) -> None:
        """Handle this platform's stored requests in this process (adapters call it)."""
        self._handlers[platform] = handler

    @property
    def commits(self) -> int:
        return self._inserts.commits

    # recording ------------------------------------------------------------------------------

    async def record(self, platform: str, workspace_id: str, kind: str, payload: dict[str, Any]) -> InboxItem:
        """Store a request durably (it is committed when this returns), then handle it."""
        item = await self._inserts.submit({"platform": platform, "workspace_id": workspace_id[:128],
                                           "kind": kind, "payload": payload})
        self._enqueue(item)
        return item

    async def _insert(self, batch: list[dict[str, Any]]) -> list[InboxItem]:
        """One executemany per batch (ids and times made here: RETURNING would cost a round
        trip per row on SQLite)."""
        start = utcnow()
        rows = [{"id": uuid.uuid4().hex, "owner": self._registry.id, "attempts": 0, "failed": False,
                 "received_at": start + timedelta(microseconds=offset), **values}
                for offset, values in enumerate(batch)]
        async with self._sessions.begin() as db:
            await db.execute(insert(InboxRow), rows)
        return [InboxItem(row["id"], row["platform"], row["workspace_id"], row["kind"], row["payload"]) for row in rows]

    async def _delete(self, ids: list[str]) -> list[None]:
        async with self._sessions.begin() as db:
            await db.execute(delete(InboxRow).where(InboxRow.id.in_(ids)))
        return [None] * len(ids)

    # handling -------------------------------------------------------------------------------

    def _enqueue(self, item: InboxItem) -> None:
        if item.platform not in self._handlers or item.id in self._queued_ids or self._stopping:
            return  # stays stored; a process serving the platform adopts it
        key = (item.platform, item.workspace_id)
        self._queued_ids.add(item.id)
        self._queues.setdefault(key, deque()).append(item)
        self._idle.clear()
        if key not in self._consumers:
            self._consumers[key] = asyncio.get_running_loop().create_task(self._consume(key))

    async def _consume(self, key: tuple[str, str]) -> None:
        queue = self._queues[key]
        try:
            while queue and not self._stopping:
                item = queue[0]
                # Acks first: while requests are being stored, their senders wait for an
                # answer; handling (more writes, more CPU) waits for the burst to pass.
                await self._inserts.idle()
                async with self._slots:
                    await self._handle(item)
                queue.popleft()
                self._queued_ids.discard(item.id)
        finally:
            # No await between the loop's end and here: an item enqueued meanwhile
            # finds this consumer still registered only while it can still take it.
            self._consumers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)
            if not self._consumers:
                self._idle.set()

    async def _handle(self, item: InboxItem) -> None:
        handler = self._handlers[item.platform]
        for attempt in range(1, self._max_attempts + 1):
            try:
                await handler(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("handling stored %s request %s failed (attempt %d of %d)",
                              item.platform, item.id, attempt, self._max_attempts)
                if attempt < self._max_attempts:
                    await asyncio.sleep(self._retry_delay_s * attempt)
                continue
            await self._deletes.submit(item.id)
            return
        await self._mark_failed(item.id)

    async def _mark_failed(self, item_id: str) -> None:
        async with self._sessions.begin() as db:
            await db.execute(update(InboxRow).where(InboxRow.id == item_id)
                             .values(failed=True, attempts=InboxRow.attempts + self._max_attempts))
        log.error("stored request %s kept as failed after %d attempts", item_id, self._max_attempts)

    # lifecycle ------------------------------------------------------------------------------

    async def adopt(self) -> int:
        """Take over the unhandled requests of dead processes (for the platforms served here)."""
        platforms = list(self._handlers)
        if not platforms or self._stopping:
            return 0
        await self._registry.reap_local()
        async with self._sessions.begin() as db:
            rows = list(await db.scalars(
                update(InboxRow)
                .where(InboxRow.platform.in_(platforms), InboxRow.failed.is_(False),
                       InboxRow.owner.not_in(self._registry.alive_ids()))
                .values(owner=self._registry.id)
                .returning(InboxRow)
            ))
        for row in sorted(rows, key=lambda r: (r.received_at, r.id)):
            self._enqueue(InboxItem.of(row))
        if rows:
            log.warning("adopted %d stored request(s) left by a stopped process", len(rows))
        return len(rows)

    async def drained(self) -> None:
        """Wait until every request queued here was handled (tests and benchmarks)."""
        await self._idle.wait()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop taking requests; the one being handled gets `grace` seconds. The rest stay
        stored and are adopted by the next process (or this one's successor)."""
        self._stopping = True
        consumers = list(self._consumers.values())
        if consumers:
            _, late = await asyncio.wait(consumers, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
