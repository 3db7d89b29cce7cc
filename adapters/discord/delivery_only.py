"""Showing turns in Discord over REST only, with no gateway connection: what a worker
process needs (`director-bot worker`). Button presses still reach the gateway process,
whose persistent buttons are the same custom ids."""

from __future__ import annotations

from typing import Any

import discord

from adapters.discord import urls
from adapters.discord.client import bot_token, create_client
from adapters.discord.config import DiscordConfig
from adapters.discord.delivery import DeliveryOptions, DiscordPort
from adapters.discord.files import fetch_attachment
from adapters.discord.views import make_turn_button
from core.host import CoreHost


async def _never(interaction: discord.Interaction[Any], turn_id: str) -> str | None:
    return "This process does not take button presses."  # a worker has no gateway: never called


class DiscordDelivery:
    def __init__(self, app: CoreHost, config: DiscordConfig, *, options: DeliveryOptions | None = None) -> None:
        urls.apply(config.api_url, config.gateway_url)
        self.config = config
        self.client = create_client(config)
        staging_dir = config.data_dir / "discord" / "staging"
        staging_dir.mkdir(parents=True, exist_ok=True)
        button_cls = make_turn_button(app.conversations, _never)
        self.port = DiscordPort(self.client, button_cls, staging_dir, options)
        app.register_port(self.port)
        app.conversations.register_fetcher("discord", fetch_attachment)

    async def login(self) -> None:
        await self.client.login(bot_token(self.config))

    async def close(self) -> None:
        await self.client.http.close()
