"""Socket Mode: Slack pushes events over a websocket; no public URL needed.

The app-level token (xapp-…, connections:write) opens the connection through
apps.connections.open on the same Web API base as everything else, so a loopback
fake can stand in for Slack. Envelopes are acked by slack_sdk's client as soon as
Bolt returns, which is before any turn work starts.
"""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


class SocketMode:
    def __init__(self, bolt: AsyncApp, app_token: str, client: AsyncWebClient) -> None:
        self._handler = AsyncSocketModeHandler(bolt, app_token, web_client=client)

    async def connect(self) -> None:
        await self._handler.connect_async()

    async def close(self) -> None:
        await self._handler.close_async()
