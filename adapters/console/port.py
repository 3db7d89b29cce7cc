"""Showing turns in a terminal: re-rendered in place on a TTY, appended lines in a pipe."""

from __future__ import annotations

import math
import shutil
import time
from typing import TextIO

from adapters.console.render import render_lines
from core.delivery.port import SaveRef, TurnRef
from core.messages import OutputMessage


class TerminalObserver:
    """Redraws the turn's block of lines in place (ANSI cursor movement)."""

    def __init__(self, out: TextIO, min_interval_s: float = 0.1) -> None:
        self._out = out
        self._drawn_rows = 0
        self._last_draw = 0.0
        self._min_interval_s = min_interval_s

    def _rows(self, lines: list[str]) -> int:
        width = max(shutil.get_terminal_size((100, 24)).columns, 20)
        return sum(max(1, math.ceil(len(line) / width)) for line in lines)

    def _draw(self, message: OutputMessage) -> None:
        lines = render_lines(message)
        if self._drawn_rows:
            self._out.write(f"\x1b[{self._drawn_rows}F\x1b[J")
        self._out.write("\n".join(lines) + "\n")
        self._out.flush()
        self._drawn_rows = self._rows(lines)
        self._last_draw = time.monotonic()

    def on_update(self, message: OutputMessage) -> None:
        if time.monotonic() - self._last_draw >= self._min_interval_s:
            self._draw(message)

    async def on_publish(self, message: OutputMessage) -> None:
        self._draw(message)


class AppendingObserver:
    """For pipes and files: new actions as they happen, then the final render once."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._actions_shown = 0

    def on_update(self, message: OutputMessage) -> None:
        new = message.actions[self._actions_shown:]
        if new:
            self._out.write("".join(f"… {action}\n" for action in new))
            self._out.flush()
            self._actions_shown = len(message.actions)

    async def on_publish(self, message: OutputMessage) -> None:
        self._out.write("\n".join(render_lines(message)) + "\n")
        self._out.flush()


class ConsolePort:
    """The console's PlatformPort: one observer per turn, drawn on `out`."""

    platform = "console"

    def __init__(self, out: TextIO, interactive: bool) -> None:
        self._out = out
        self._interactive = interactive

    def observer_for(self, turn: TurnRef, save_ref: SaveRef) -> TerminalObserver | AppendingObserver:
        if self._interactive:
            return TerminalObserver(self._out)
        return AppendingObserver(self._out)
