"""The job card's platform-neutral content: status line, timestamps, buttons.

Renderers (Block Kit, embeds, terminal) use these so every platform says the same.
"""

from __future__ import annotations

import math
from typing import Literal

from core.messages import MsgStatus, OutputMessage

ButtonKind = Literal["cancel", "retry"]

STATUS_TEXT: dict[MsgStatus, str] = {
    MsgStatus.queued: "⏳ Queued…",
    MsgStatus.progress: "⏳ Working on it…",
    MsgStatus.success: "✅ Done",
    MsgStatus.error: "⚠️ Failed",
    MsgStatus.cancelled: "⏹ Cancelled",
    MsgStatus.interrupted: "⚠️ Interrupted by a restart",
}


def format_ts(seconds: float | None, rounding: str = "nearest") -> str:
    """`75.4` → `1:15`, `3725` → `1:02:05`; `rounding` is "nearest", "down" or "up"."""
    if seconds is None:
        return "?"
    value = max(seconds, 0.0)
    total = {"nearest": int(value + 0.5), "down": math.floor(value), "up": math.ceil(value)}[rounding]
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_span(start: float | None, end: float | None) -> str:
    """`3.6, 4.4` → `0:03–0:05`: whole seconds that contain the span, so it never reads as empty."""
    if start is None and end is None:
        return ""
    return f"{format_ts(start, 'down')}–{format_ts(end, 'up')}"


def _says_the_same(action: str, head: str) -> bool:
    """"Interrupted by a restart" after "⚠️ Interrupted by a restart" adds nothing."""
    words = head.split(" ", 1)[-1]
    return action.strip(" .…").casefold() == words.strip(" .…").casefold()


def status_line(message: OutputMessage, max_actions: int = 3) -> str:
    """One compact line: overall status plus the latest actions (none that repeat the status)."""
    head = STATUS_TEXT[message.status]
    actions = [action for action in message.actions if not _says_the_same(action, head)]
    if not actions:
        return head
    shown = actions[-max_actions:]
    more = len(actions) - len(shown)
    tail = " · ".join(shown)
    return f"{head} · {'… ' if more else ''}{tail}"


def buttons(message: OutputMessage) -> list[ButtonKind]:
    """Cancel while running, Retry once it failed or was interrupted/cancelled."""
    if message.status in (MsgStatus.queued, MsgStatus.progress):
        return ["cancel"]
    if message.status in (MsgStatus.error, MsgStatus.interrupted, MsgStatus.cancelled):
        return ["retry"]
    return []
