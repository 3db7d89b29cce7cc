"""Starting the platform processes: `director-bot slack` and `director-bot discord`."""

from __future__ import annotations

from bot.settings import Settings


async def run_slack(settings: Settings, *, http: bool) -> int:
    from adapters.slack import run_slack as serve

    await serve(settings, http=http)
    return 0


async def run_discord(settings: Settings, *, sync: bool, guild_id: int | None) -> int:
    from adapters.discord import run_discord as serve

    await serve(settings, sync=sync, guild_id=guild_id)
    return 0
