"""A progress card that always ends, whatever happens to the agent.

`ctx.progress_card` starts a card; if the agent then raises (a backend error, a
timeout that cancels it), nothing would mark that card finished and the thread
would show "uploading…" forever. `Progress` closes the card on every exit path and
re-raises, so `safe_call` still turns the error into the agent's result.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from core.agents.base import AgentContext
from core.errors import DirectorError
from core.messages import CardStatus, TextCard


class Progress:
    """`with Progress(ctx, "upload", "uploading…") as progress: ... progress.done("Uploaded.")`"""

    def __init__(self, ctx: AgentContext, agent_name: str, message: str) -> None:
        self._ctx = ctx
        self.card: TextCard = ctx.progress_card(agent_name, message)
        self.report = ctx.reporter(self.card)

    def update(self, message: str, fraction: float | None = None) -> None:
        self.report(message, fraction)

    def done(self, message: str) -> None:
        self._finish(CardStatus.success, message)

    def _finish(self, status: CardStatus, message: str) -> None:
        self.card.status = status
        self.card.status_message = message
        self._ctx.output.push_update()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.card.status is not CardStatus.progress:
            return
        if exc is None:
            self._finish(CardStatus.success, "Done.")
        elif isinstance(exc, DirectorError):
            self._finish(CardStatus.error, exc.user_message)
        elif isinstance(exc, asyncio.CancelledError):
            self._finish(CardStatus.error, "Stopped.")
        else:
            self._finish(CardStatus.error, "Failed unexpectedly; the error is in the bot's log.")
