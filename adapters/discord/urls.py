"""Point discord.py at DISCORD_API_URL / DISCORD_GATEWAY_URL (a REST proxy, or a test fake).

discord.py has no per-client option for either address. Every REST URL, the
interaction webhooks included, is built from the class attribute
`discord.http.Route.BASE`, and `Client.connect` opens the gateway at
`DiscordWebSocket.DEFAULT_GATEWAY` (AutoShardedClient asks GET /gateway/bot, which
is then answered by the overridden REST base). Setting those two attributes once
at start-up is the supported seam; they are process-wide, which suits one bot
per process.
"""

from __future__ import annotations

import logging

import discord.gateway
import discord.http
import yarl

log = logging.getLogger(__name__)

DEFAULT_API = "https://discord.com/api/v10"
DEFAULT_GATEWAY = "wss://gateway.discord.gg/"


def api_base(url: str) -> str:
    """`https://proxy.example` → `https://proxy.example/api/v10`; a versioned URL is kept."""
    url = url.rstrip("/")
    if "/api/v" in url:
        return url
    if url.endswith("/api"):
        return url + "/v10"
    return url + "/api/v10"


def apply(api_url: str | None, gateway_url: str | None) -> None:
    """Route discord.py's REST and gateway traffic; None restores Discord's own address."""
    discord.http.Route.BASE = api_base(api_url) if api_url else DEFAULT_API
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url or DEFAULT_GATEWAY)
    if api_url or gateway_url:
        log.info("discord REST at %s, gateway at %s", discord.http.Route.BASE,
                 discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
