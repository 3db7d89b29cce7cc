"""Socket Mode: Slack pushes requests over a websocket; no public URL needed.

The app-level token (xapp-…, connections:write) opens the connection through
apps.connections.open on the same Web API base as everything else, so a loopback
fake can stand in for Slack. Each envelope is stored (`SlackIntake.envelope`) and
only then acknowledged; Bolt handles it from the store, after the ack, exactly as
an HTTP request. (Bolt's own Socket Mode handler acks before the work is stored.)
"""

from __future__ import annotations

import logging

from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.intake import SlackIntake

log = logging.getLogger(__name__)


class SocketMode:
    def __init__(self, intake: SlackIntake, app_token: str, client: AsyncWebClient) -> None:
        self._intake = intake
        self._client = SocketModeClient(app_token=app_token, web_client=client)
        self._client.socket_mode_request_listeners.append(self._on_request)  # type: ignore[arg-type]

    async def _on_request(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        if request.type not in ("events_api", "interactive", "slash_commands") or not isinstance(request.payload, dict):
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
            return
        try:
            await self._intake.envelope(request.type, request.payload)
        except Exception:
            # Not stored: no ack, so Slack delivers the envelope again.
            log.exception("could not store a Socket Mode envelope; leaving it unacknowledged")
            return
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))

    async def connect(self) -> None:
        await self._client.connect()

    async def close(self) -> None:
        await self._client.close()
