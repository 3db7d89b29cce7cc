"""Which bot processes are alive: each registers a row, heartbeats, and marks itself stopped.

Turns and stored requests are owned by a process. When it dies (kill -9, a lost
machine, a deploy) its heartbeat goes stale and a live process adopts what it owned;
a restart of one process therefore never touches what another live process owns.

A process on this host whose pid no longer runs is dead at once (no need to wait for
its heartbeat to go stale). A row with this process's own pid that is not one of the
registries running in this interpreter is an earlier incarnation (containers reuse
pid 1 on every start), so it is dead too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession as DBSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.messages import utcnow
from core.storage.models import ProcessRow

log = logging.getLogger(__name__)

_RUNNING_HERE: set[str] = set()  # ids of registries started in this interpreter


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class ProcessRegistry:
    def __init__(self, sessions: async_sessionmaker[DBSession], *, role: str, platforms: list[str] | None = None,
                 heartbeat_s: float = 10.0, stale_s: float = 30.0) -> None:
        self._sessions = sessions
        self.id = uuid.uuid4().hex
        self.role = role
        self.platforms = list(platforms or [])
        self.host = socket.gethostname()[:255]
        self.pid = os.getpid()
        self.heartbeat_s = heartbeat_s
        self.stale_s = stale_s
        self._beating: asyncio.Task[None] | None = None

    async def start(self) -> None:
        _RUNNING_HERE.add(self.id)
        async with self._sessions.begin() as db:
            db.add(ProcessRow(id=self.id, role=self.role, platforms=",".join(self.platforms), host=self.host,
                              pid=self.pid))
        await self.reap_local()
        self._beating = asyncio.get_running_loop().create_task(self._beat_forever())
        log.info("process %s registered (%s on %s, pid %d)", self.id[:8], self.role, self.host, self.pid)

    async def stop(self) -> None:
        _RUNNING_HERE.discard(self.id)
        if self._beating is not None:
            self._beating.cancel()
            await asyncio.gather(self._beating, return_exceptions=True)
        try:
            async with self._sessions.begin() as db:
                await db.execute(update(ProcessRow).where(ProcessRow.id == self.id).values(stopped_at=utcnow()))
        except Exception:
            log.warning("could not mark process %s stopped; its heartbeat will go stale", self.id[:8])

    async def beat(self) -> None:
        async with self._sessions.begin() as db:
            await db.execute(update(ProcessRow).where(ProcessRow.id == self.id).values(heartbeat_at=utcnow()))

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await asyncio.shield(self.beat())  # never cut a write short (see Upkeep.stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("heartbeat failed; retrying in %.0f s", self.heartbeat_s, exc_info=True)

    async def reap_local(self) -> list[str]:
        """Mark processes of this host that no longer run as stopped; returns their ids."""
        async with self._sessions() as db:
            rows = list(await db.execute(
                select(ProcessRow.id, ProcessRow.pid).where(ProcessRow.host == self.host,
                                                            ProcessRow.stopped_at.is_(None))))
        dead = [row_id for row_id, pid in rows
                if row_id not in _RUNNING_HERE and (pid == self.pid or not pid_running(pid))]
        if dead:
            async with self._sessions.begin() as db:
                await db.execute(update(ProcessRow).where(ProcessRow.id.in_(dead)).values(stopped_at=utcnow()))
            log.info("%d process(es) of this host are gone; what they owned will be adopted", len(dead))
        return dead

    def fresh_after(self) -> datetime:
        return datetime.now(timezone.utc) - timedelta(seconds=self.stale_s)

    def alive_ids(self) -> Select[tuple[str]]:
        """A subquery of the ids of live processes (for "owner is dead" conditions)."""
        return select(ProcessRow.id).where(ProcessRow.stopped_at.is_(None),
                                           ProcessRow.heartbeat_at >= self.fresh_after())

    async def count_alive(self, role: str) -> int:
        async with self._sessions() as db:
            rows = await db.scalars(self.alive_ids().where(ProcessRow.role == role))
            return len(list(rows))
