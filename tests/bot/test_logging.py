"""Log lines: key=value extras once each, secrets redacted."""

from __future__ import annotations

import logging

from bot.logging_setup import KeyValueFormatter, redact


def _format(message: str, **extra: object) -> str:
    record = logging.makeLogRecord({"msg": message, "levelname": "INFO", "name": "t", **extra})
    return KeyValueFormatter("%(levelname)s %(message)s").format(record)


def test_extras_are_appended_once() -> None:
    line = _format("turn accepted", turn="abc", session="s1")
    assert line == "INFO turn accepted session=s1 turn=abc"


def test_secrets_are_redacted() -> None:
    line = _format("calling with xoxb-1234-5678-abcdef and sk-proj-abcdefghijkl", api_key="sk-secretsecret")
    assert "xoxb-1234" not in line and "sk-proj-abc" not in line and "sk-secretsecret" not in line
    assert redact('{"x-access-token": "vdb-123"}') == '{"x-access-token": "***"}'
