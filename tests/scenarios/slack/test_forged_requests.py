"""Requests that are not signed never reach a parser; signed junk is a 400; nothing is a 500.

Each request goes to the real HTTP server over loopback. Rejections are logged as one
short line, never with their body.
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode

import pytest

from core.turns import TurnStatus
from tests.fakes.slack_api import FakeSlack, event_body, mention, sign
from tests.scenarios.slack.conftest import BotFactory

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
A_MENTION = json.dumps(event_body(mention("C1", "help"))).encode()

UNSIGNED = [
    ("unsigned JSON", A_MENTION, JSON),
    ("unsigned text", b"not json at all", JSON),
    ("unsigned non-UTF-8", b"\xff\xfe\x00junk", JSON),
    ("unsigned JSON array", b"[1, 2, 3]", JSON),
    ("unsigned form, payload not JSON", urlencode({"payload": "{nope"}).encode(), FORM),
    ("empty body", b"", JSON),
]


def forged_headers(body: bytes) -> list[tuple[str, dict[str, str]]]:
    good = sign(body)
    return [
        ("non-numeric timestamp", {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": good["X-Slack-Signature"]}),
        ("no signature", {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]}),
        ("wrong signature", {**good, "X-Slack-Signature": "v0=" + "0" * 64}),
        ("malformed signature", {**good, "X-Slack-Signature": "sha1=abc"}),
        ("stale timestamp", sign(body, int(time.time()) - 600)),
        ("timestamp far ahead", sign(body, int(time.time()) + 600)),
    ]


@pytest.mark.parametrize("name,body,content_type", UNSIGNED, ids=[case[0] for case in UNSIGNED])
async def test_unsigned_requests_are_401(slack_bot: BotFactory, name: str, body: bytes,
                                         content_type: dict[str, str]) -> None:
    bot = await slack_bot()
    for path in ("/slack/events", "/slack/interactivity"):
        assert await bot.post(path, body, content_type) == 401, name


async def test_forged_headers_are_401(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    bot = await slack_bot()
    for name, headers in forged_headers(A_MENTION):
        assert await bot.post("/slack/events", A_MENTION, {**JSON, **headers}) == 401, name
    assert fake_slack.calls("chat.postMessage") == 0
    assert await bot.app.store.turns.with_status(list(TurnStatus)) == []


@pytest.mark.parametrize("body,content_type", [
    (b"not json at all", JSON), (b"[1, 2, 3]", JSON), (b'"a string"', JSON),
    (urlencode({"payload": "{nope"}).encode(), FORM), (urlencode({"payload": "[1]"}).encode(), FORM),
], ids=["text", "array", "string", "form payload not JSON", "form payload an array"])
async def test_signed_junk_is_400(slack_bot: BotFactory, body: bytes, content_type: dict[str, str]) -> None:
    bot = await slack_bot()
    assert await bot.post("/slack/events", body, {**content_type, **sign(body)}) == 400


async def test_events_without_the_fields_we_need_are_ignored_quietly(
        slack_bot: BotFactory, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    bot = await slack_bot()
    broken = [
        {"type": "app_mention", "user": "U1", "text": "<@UBOT> help", "ts": "1.1"},  # no channel
        {"type": "app_mention", "user": "U1", "text": "<@UBOT> help", "channel": "C1"},  # no ts
        {"type": "app_mention", "user": None, "text": None, "channel": None, "ts": None},
        {"type": "message", "channel": "C1"},
    ]
    caplog.set_level(logging.DEBUG)
    for event in broken:
        assert await bot.send(event) == 200
    body = json.dumps({"type": "event_callback", "team_id": "T0001", "event_id": "EvList", "event": [1, 2]}).encode()
    assert await bot.post("/slack/events", body, {**JSON, **sign(body)}) == 200
    await bot.app.intake.drained()
    assert fake_slack.calls("chat.postMessage") == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_big_forged_request_adds_one_short_line_to_the_log(
        slack_bot: BotFactory, caplog: pytest.LogCaptureFixture) -> None:
    bot = await slack_bot()
    caplog.set_level(logging.DEBUG)
    body = b'{"type": "event_callback", "junk": "' + b"x" * 900_000 + b'"}'
    assert await bot.post("/slack/events", body, {**JSON, "X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=0"}) == 401
    logged = sum(len(record.getMessage()) for record in caplog.records)
    assert logged < 2_000
    assert any("refused POST /slack/events" in record.getMessage() for record in caplog.records)
