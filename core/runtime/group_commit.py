"""Group commit: many concurrent writes become one transaction each round.

Whatever is submitted while a write is in flight goes into the next one, so a burst
of 200 requests costs a handful of commits instead of 200, and no request waits
behind a lock for the others' commits. Written here because the database libraries
we use have no such helper (SQLAlchemy batches within one session, not across
concurrent callers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """`await submit(item)` returns `write(batch)`'s result for that item once it is committed."""

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R]]], max_batch: int = 500) -> None:
        self._write = write
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.commits = 0

    async def idle(self) -> None:
        """Wait until nothing is pending or being written."""
        await self._idle.wait()

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._idle.clear()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        return await asyncio.shield(future)  # a caller giving up must not cancel the others' write

    async def _drain(self) -> None:
        try:
            await self._drain_pending()
        finally:
            self._idle.set()

    async def _drain_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch:]
            try:
                results = await self._write([item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every caller of this round
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.commits += 1
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
