"""Session and turn ids on every log line of a turn, without passing them around.

The executor sets them for the duration of a turn; tasks and worker threads started
inside the turn inherit them (contextvars). `TurnContextFilter` adds them to records.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_session: ContextVar[str | None] = ContextVar("director_session", default=None)
_turn: ContextVar[str | None] = ContextVar("director_turn", default=None)


@contextmanager
def turn_context(session_id: str, turn_id: str) -> Iterator[None]:
    session_token, turn_token = _session.set(session_id), _turn.set(turn_id)
    try:
        yield
    finally:
        _session.reset(session_token)
        _turn.reset(turn_token)


class TurnContextFilter(logging.Filter):
    """Adds `session` and `turn` to records logged while a turn runs (unless already set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        session, turn = _session.get(), _turn.get()
        if session is not None and not hasattr(record, "session"):
            record.session = session
        if turn is not None and not hasattr(record, "turn"):
            record.turn = turn
        return True
