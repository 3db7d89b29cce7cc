"""The contract between the core and a platform adapter (kept small on purpose).

An adapter registers one `PlatformPort` per platform. For each turn the runner asks
it for an observer, which posts the job message once (idempotently: if the turn
already has a stored `output_ref`, it edits that message instead) and then edits
it as the OutputMessage changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from pydantic import BaseModel

from core.incoming import ThreadKey
from core.messages import OutputObserver

SaveRef = Callable[[dict[str, str]], Awaitable[None]]
"""Stores the platform reference of the job message (e.g. {"channel": C, "ts": T})."""


class TurnRef(BaseModel):
    """What an adapter needs to show one turn."""

    turn_id: str
    session_id: str
    thread: ThreadKey
    user_id: str = ""
    input_text: str = ""
    output_ref: dict[str, str] | None = None


class PlatformPort(Protocol):
    platform: str

    def observer_for(self, turn: TurnRef, save_ref: SaveRef) -> OutputObserver:
        """An observer that renders this turn's OutputMessage into one platform message."""
        ...
