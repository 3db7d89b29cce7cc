"""What a platform adapter needs from the running core, as a structural type.

Adapters annotate with `CoreHost` instead of importing the composition root
(`bot.wiring.App`), so the dependency runs one way: bot -> adapters -> core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from core.conversations import Conversations
from core.delivery.port import PlatformPort
from core.runtime.intake import Intake

if TYPE_CHECKING:
    from aiohttp import web


class CoreHost(Protocol):
    """The members adapters use: register a port, reach conversations, store requests before
    acknowledging them, mount media, start/stop."""

    conversations: Conversations
    intake: Intake

    def register_port(self, port: PlatformPort) -> None:
        """Route this platform's turns to `port` (call before `start`)."""
        ...

    def media_routes(self) -> web.Application | None:
        """The /media and /watch routes to mount in the adapter's own HTTP server, if any."""
        ...

    async def start(self) -> None:
        ...

    async def stop(self) -> None:
        ...
