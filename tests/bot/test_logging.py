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


def test_lines_logged_during_a_turn_carry_its_ids() -> None:
    import asyncio

    from core.log_context import TurnContextFilter, turn_context

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(TurnContextFilter())
    logger = logging.getLogger("test.turn")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    async def work() -> None:
        with turn_context("s1", "t1"):
            await asyncio.to_thread(logger.info, "in a worker thread")
            await asyncio.get_running_loop().create_task(asyncio.to_thread(logger.info, "in a task"))
        logger.info("after the turn")

    asyncio.run(work())
    logger.removeHandler(handler)
    assert [(getattr(r, "session", None), getattr(r, "turn", None)) for r in records] == [
        ("s1", "t1"), ("s1", "t1"), (None, None)]
