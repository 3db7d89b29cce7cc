"""Slack requests in: checked, stored, acknowledged, then handed to Bolt.

HTTP mode: the v0 signature and the timestamp window are checked here, on the raw
bytes, before anything parses the body (slack_sdk's `SignatureVerifier`). An
unsigned, stale or malformed-header request is 401; a signed body that is not the
JSON or form Slack sends is 400. Rejections are logged as one short line, never
with their body. A good request is stored (`Intake.record`) and only then answered
200, so a crash after the ack loses nothing: the stored request is handled after
the answer, or adopted after a restart.

Socket Mode: each envelope is stored the same way before it is acknowledged.

Handling a stored request is Bolt's dispatch with the stored body (signature checks
off: they were made on arrival, and a replay after an outage may be older than
Slack's 5-minute window). Listeners see the stored request's id as
`context["inbox_id"]`, so the turn it becomes is stored in the same transaction
that deletes it.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from core.runtime.intake import InboxItem, Intake

log = logging.getLogger(__name__)

PLATFORM = "slack"
MAX_BODY_BYTES = 1024 * 1024
_KEPT_HEADERS = ("content-type", "x-slack-retry-num", "x-slack-retry-reason")


class Rejected(Exception):
    """A request that must not be processed; `status` is the answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def team_of(payload: dict[str, Any]) -> str:
    """The workspace of an event, an interaction or a slash command ("" if absent)."""
    team = payload.get("team_id") or payload.get("team") or ""
    if isinstance(team, dict):
        team = team.get("id") or ""
    return team if isinstance(team, str) else ""


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """The payload Slack sent: a JSON object (events) or a form (interactivity, commands)."""
    try:
        text = raw.decode("utf-8")
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}
            if "payload" in form:
                payload = json.loads(form["payload"])
                if not isinstance(payload, dict):
                    raise ValueError("payload is not an object")
                return payload
            return form
        body = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejected(400, f"malformed body ({type(exc).__name__})") from None
    if not isinstance(body, dict):
        raise Rejected(400, "body is not a JSON object")
    return body


class SlackIntake:
    def __init__(self, intake: Intake, bolt: AsyncApp, signing_secret: str | None) -> None:
        self._intake = intake
        self._bolt = bolt
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None
        intake.register(PLATFORM, self.handle)

    # HTTP mode ---------------------------------------------------------------------------

    async def http(self, request: web.Request) -> web.Response:
        """POST /slack/events and /slack/interactivity."""
        try:
            raw = await request.read()
            self._verify(raw, request.headers)
            payload = parse_body(raw, request.content_type)
        except Rejected as rejected:
            log.info("refused %s %s: %s (%d bytes)", request.method, request.path, rejected.reason,
                     request.content_length or 0)
            return web.Response(status=rejected.status)
        if payload.get("type") == "url_verification":  # the set-up handshake of the Events API
            return web.json_response({"challenge": str(payload.get("challenge", ""))})
        if payload.get("ssl_check"):
            return web.Response()
        if payload.get("type") == "event_callback" and not isinstance(payload.get("event"), dict):
            log.debug("ignored an event_callback whose event is not an object")
            return web.Response()
        headers = {name: request.headers[name] for name in _KEPT_HEADERS if name in request.headers}
        await self._intake.record(PLATFORM, team_of(payload), _kind(payload),
                                  {"mode": "http", "body": raw.decode("utf-8"), "headers": headers})
        return web.Response()

    def _verify(self, raw: bytes, headers: Any) -> None:
        if self._verifier is None:
            raise Rejected(401, "no signing secret configured")
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not timestamp.isdigit() or not signature:
            raise Rejected(401, "missing or malformed signature headers")
        try:
            valid = self._verifier.is_valid(body=raw, timestamp=timestamp, signature=signature)
        except UnicodeDecodeError:
            valid = False
        if not valid:
            raise Rejected(401, "bad signature or stale timestamp")

    # Socket Mode -------------------------------------------------------------------------

    async def envelope(self, envelope_type: str, payload: dict[str, Any]) -> None:
        """Store one Socket Mode envelope's payload; the caller acks once this returns."""
        await self._intake.record(PLATFORM, team_of(payload), envelope_type,
                                  {"mode": "socket_mode", "body": payload})

    # handling ------------------------------------------------------------------------------

    async def handle(self, item: InboxItem) -> None:
        """Dispatch a stored request to the Bolt app; its listeners run to their end."""
        stored = item.payload
        context = {"inbox_id": item.id}
        if stored.get("mode") == "socket_mode":
            request = AsyncBoltRequest(body=stored["body"], mode="socket_mode", context=context)
        else:
            request = AsyncBoltRequest(body=stored["body"], headers=stored.get("headers") or {}, context=context)
        response = await self._bolt.async_dispatch(request)
        if response.status >= 500:
            raise RuntimeError(f"Bolt answered {response.status} to stored request {item.id}")


def _kind(payload: dict[str, Any]) -> str:
    if payload.get("type") == "event_callback":
        return "events_api"
    if payload.get("command"):
        return "slash_commands"
    return "interactive"
