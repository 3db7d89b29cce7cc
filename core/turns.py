"""Turn (job) lifecycle states."""

from __future__ import annotations

import enum

from core.messages import MsgStatus


class TurnStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    interrupted = "interrupted"

    @property
    def is_final(self) -> bool:
        return self not in (TurnStatus.queued, TurnStatus.running)

    @property
    def message_status(self) -> MsgStatus:
        return {
            TurnStatus.queued: MsgStatus.queued,
            TurnStatus.running: MsgStatus.progress,
            TurnStatus.succeeded: MsgStatus.success,
            TurnStatus.failed: MsgStatus.error,
            TurnStatus.cancelled: MsgStatus.cancelled,
            TurnStatus.interrupted: MsgStatus.interrupted,
        }[self]
