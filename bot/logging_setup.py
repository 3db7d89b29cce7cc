"""Logging for every process: structured key=value extras, secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

from core.log_context import TurnContextFilter

_SECRET_PATTERNS = [
    re.compile(r"xox[abprs]-[A-Za-z0-9-]+"),  # Slack tokens
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"sk-[A-Za-z0-9_-]{8,}"),  # OpenAI-style keys
    re.compile(r"(?i)(authorization|x-access-token|token|api[_-]?key)([\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
]
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) + m.group(2) + "***") if m.re.groups >= 2 else "***", text)
    return text


class KeyValueFormatter(logging.Formatter):
    """`time level logger message key=value…`, with secrets redacted."""

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        if extras:
            base += " " + " ".join(f"{key}={value}" for key, value in sorted(extras.items()))
        return redact(base)


def configure_logging(level: str, log_file: Path | None = None, console_level: str | None = None) -> None:
    """Log to stderr (at `console_level`, default `level`) and optionally to a file."""
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    formatter = KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    stream = logging.StreamHandler(sys.stderr)
    stream.setLevel(console_level or level)
    stream.setFormatter(formatter)
    stream.addFilter(TurnContextFilter())
    root.addHandler(stream)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file)
        file_handler.setFormatter(formatter)
        file_handler.addFilter(TurnContextFilter())
        root.addHandler(file_handler)
    for noisy in ("aiosqlite", "sqlalchemy.engine", "httpx", "httpcore", "faster_whisper", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
