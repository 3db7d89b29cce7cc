"""The platform processes: `director-bot slack [--http]` and `director-bot discord [--sync]`.

Each builds the App, hands it to its adapter, starts it, and serves until stopped.
"""

from __future__ import annotations

import asyncio
import logging

from bot.settings import Settings
from bot.wiring import build_app

log = logging.getLogger(__name__)


async def run_slack(settings: Settings, *, http: bool, host: str = "0.0.0.0") -> int:
    """Socket Mode (SLACK_APP_TOKEN), or HTTP mode serving /slack/events on $PORT."""
    from adapters.slack import create_slack_runtime, require_secret
    from adapters.slack.server import HttpServer

    require_secret(settings.slack_bot_token, "SLACK_BOT_TOKEN")
    if http:
        require_secret(settings.slack_signing_secret, "SLACK_SIGNING_SECRET")
    else:
        require_secret(settings.slack_app_token, "SLACK_APP_TOKEN (or run with --http)")
    app = await build_app(settings)
    runtime = create_slack_runtime(app, settings)
    server: HttpServer | None = None
    socket = None
    # In HTTP mode the media and player routes are served by the Slack server itself.
    await app.start(serve_media=not http)
    try:
        if http:
            server = HttpServer(runtime.aiohttp_app())
            port = await server.start(host, settings.port)
            if not settings.media_public_url:
                app.media_base_url = f"http://{settings.media_host}:{port}"
            log.info("Slack HTTP mode on port %d: POST /slack/events, /slack/interactivity", port)
        else:
            socket = runtime.socket_mode(require_secret(settings.slack_app_token, "SLACK_APP_TOKEN"))
            await socket.connect()
            log.info("Slack Socket Mode connected")
        await asyncio.Event().wait()
    finally:
        if socket is not None:
            await socket.close()
        if server is not None:
            await server.stop()
        await app.stop()
        await runtime.close()
    return 0


async def run_discord(settings: Settings, *, sync: bool, guild_id: int | None) -> int:
    """Sync the /director commands and exit, or run the bot on the gateway."""
    from adapters.discord import DiscordBot, bot_token

    bot_token(settings)
    app = await build_app(settings)
    bot = DiscordBot(app, settings)
    try:
        # Log in over REST before starting the App, so the messages of turns interrupted
        # by a restart can be edited; then connect to the gateway.
        await bot.login()
        if sync:
            await bot.sync(guild_id)
            return 0
        await app.start()
        await bot.connect()
    finally:
        await bot.close()
        await app.stop()
    return 0
