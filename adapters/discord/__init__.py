"""The Discord adapter: /director slash commands, a thread per session, one live job message.

`bot/cli.py` calls `run_discord(settings, sync=..., guild_id=...)`; tests and
benchmarks use `start_bot(app, settings)`.
"""

from adapters.discord.client import DiscordBot, run_discord, start_bot
from adapters.discord.delivery import DeliveryOptions, DiscordPort

__all__ = ["DeliveryOptions", "DiscordBot", "DiscordPort", "run_discord", "start_bot"]
