"""The Discord adapter: /director slash commands, a thread per session, one live job message.

`bot/platforms.py` runs the process (`director-bot discord [--sync]`) with
`DiscordBot`; tests and benchmarks use `start_bot(app, config)`. `DiscordConfig` holds
the values the adapter reads; `bot/platforms.py` builds it from the settings (`discord_config`).
"""

from adapters.discord.client import DiscordBot, bot_token, start_bot
from adapters.discord.config import DiscordConfig, DiscordConfigError
from adapters.discord.delivery import DeliveryOptions, DiscordPort

__all__ = ["DeliveryOptions", "DiscordBot", "DiscordConfig", "DiscordConfigError", "DiscordPort", "bot_token",
           "start_bot"]
