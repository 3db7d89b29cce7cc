"""What happens inside a turn, as it happens, for platforms that can show it live.

The OutputMessage is the turn's state and every platform renders it. These events
are for a platform with a native streaming surface (e.g. Slack's
`chat.startStream`/`appendStream` with `markdown_text` and `task_update` chunks):
an observer of the OutputMessage that has an `on_event(message, event)` method
receives each one (`OutputMessage.emit`); one without it never notices.

- `TextDelta`: answer text arrived for the text card `card_id` (the card already
  holds everything so far). Raw tool-call text is never sent.
- `TextDiscarded`: the text streamed into `card_id` was not the answer after all
  (the model went on to call tools); the card was removed.
- `ToolCallStarted` / `ToolCallFinished`: one tool call (a "task"), by call id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class TextDelta:
    card_id: str
    delta: str


@dataclass(frozen=True)
class TextDiscarded:
    card_id: str


@dataclass(frozen=True)
class ToolCallStarted:
    call_id: str
    tool: str
    arguments: str


@dataclass(frozen=True)
class ToolCallFinished:
    call_id: str
    tool: str
    ok: bool
    message: str


TurnEvent = Union[TextDelta, TextDiscarded, ToolCallStarted, ToolCallFinished]
