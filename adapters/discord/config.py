"""The values the Discord adapter reads, built by the process (`bot/platforms.py`) from its settings.

Kept apart from the settings class so the adapter never imports the composition root.
The token is left out of the repr, so a logged config shows no secret. The raw allow-list and admin-role strings are parsed by `adapters.discord.sessions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class DiscordConfigError(ValueError):
    """A required Discord value is missing or blank; the message names the variable."""


@dataclass
class DiscordConfig:
    bot_token: str = field(repr=False)  # blank: `login` refuses, naming DISCORD_BOT_TOKEN
    data_dir: Path  # staged uploads go under data_dir/incoming/staged (core.runner.turn_files)
    api_url: str | None = None
    gateway_url: str | None = None
    message_content: bool = False  # the privileged intent: plain follow-up messages in threads
    allowed_guilds: str = ""  # DISCORD_ALLOWED_GUILDS as written; empty = every server
    admin_role: str = ""  # DISCORD_ADMIN_ROLE as written (comma-separated names or ids)
    shard_count: int | None = None
    max_upload_mb: int = 500
