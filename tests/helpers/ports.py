"""A platform edge for core-level scenario tests: records what a turn would show."""

from __future__ import annotations

from core.delivery.port import SaveRef, TurnRef
from core.messages import MsgStatus, OutputMessage


class RecordingObserver:
    def __init__(self, port: "RecordingPort", turn: TurnRef) -> None:
        self.port, self.turn = port, turn
        self.statuses: list[MsgStatus] = []

    def on_update(self, message: OutputMessage) -> None:
        self.statuses.append(message.status)

    async def on_publish(self, message: OutputMessage) -> None:
        self.statuses.append(message.status)
        self.port.published[self.turn.turn_id] = OutputMessage.model_validate(message.model_dump())
        self.port.refs[self.turn.turn_id] = self.turn.output_ref


class RecordingPort:
    """The `PlatformPort` of platform "test": one RecordingObserver per turn."""

    platform = "test"

    def __init__(self) -> None:
        self.observers: dict[str, RecordingObserver] = {}
        self.published: dict[str, OutputMessage] = {}
        self.refs: dict[str, dict[str, str] | None] = {}

    def observer_for(self, turn: TurnRef, save_ref: SaveRef) -> RecordingObserver:
        observer = self.observers[turn.turn_id] = RecordingObserver(self, turn)
        return observer
