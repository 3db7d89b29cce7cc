"""The runner interface. The in-process runner implements it today; a distributed
queue on PostgreSQL can replace it without changes to adapters or the engine,
because the database is the source of truth for turns and their messages."""

from __future__ import annotations

from abc import ABC, abstractmethod

from core.turns import TurnStatus


class TurnRunner(ABC):
    @abstractmethod
    async def start(self) -> None:
        """Recover turns left by a dead process, then accept work."""

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def submit(self, turn_id: str, session_id: str | None = None) -> None:
        """Queue a persisted turn; returns at once. Turns of one session run in the order
        they were submitted (give `session_id` when known: the place in line is then taken
        before anything is awaited)."""

    async def adopt(self) -> int:
        """Take over what dead processes left (turns, undelivered ends); the count adopted."""
        return 0

    async def poll_cancels(self) -> None:
        """Act on Cancel pressed in another process, where that needs polling."""

    @abstractmethod
    async def cancel(self, turn_id: str) -> bool:
        """Cancel a queued or running turn; False if it already ended."""

    @abstractmethod
    async def wait(self, turn_id: str) -> TurnStatus:
        """Wait for a turn to end and return its final status."""
