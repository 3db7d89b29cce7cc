"""The platform processes: `director-bot slack [--http]`, `director-bot discord [--sync]` and
`director-bot worker`.

Each builds the App, hands it and its adapter's config (built here from the settings,
so adapters never import `bot`) to its adapter, starts it, and serves until stopped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pydantic import SecretStr

from bot.settings import Settings, SettingsError, split_list
from bot.signals import until_stopped
from bot.wiring import build_app

if TYPE_CHECKING:
    from adapters.discord.config import DiscordConfig
    from adapters.slack.config import SlackConfig

log = logging.getLogger(__name__)


def secret_value(value: SecretStr | None) -> str:
    """The stripped secret; "" when unset or blank (a blank secret counts as missing)."""
    return value.get_secret_value().strip() if value is not None else ""


def require_secret(value: SecretStr | None, name: str) -> str:
    """The secret's value; a missing or blank one is a configuration error."""
    secret = secret_value(value)
    if not secret:
        raise SettingsError(f"{name} is required for the Slack bot")
    return secret


def slack_config(settings: Settings) -> SlackConfig:
    """What the Slack adapter reads; raises `SettingsError` without SLACK_BOT_TOKEN."""
    from adapters.slack.config import SlackConfig

    return SlackConfig(
        bot_token=require_secret(settings.slack_bot_token, "SLACK_BOT_TOKEN"),
        signing_secret=secret_value(settings.slack_signing_secret) or None,
        app_token=secret_value(settings.slack_app_token) or None,
        api_url=settings.slack_api_url,
        inline_clip_mb=settings.slack_inline_clip_mb,
        admin_users=split_list(settings.slack_admin_users),
        allowed_channels=split_list(settings.slack_allowed_channels),
        streaming=settings.slack_streaming,
    )


def discord_config(settings: Settings) -> DiscordConfig:
    """What the Discord adapter reads; raises `SettingsError` without DISCORD_BOT_TOKEN."""
    from adapters.discord.config import DiscordConfig

    token = secret_value(settings.discord_bot_token)
    if not token:
        raise SettingsError("DISCORD_BOT_TOKEN is required to run the Discord bot")
    return DiscordConfig(
        bot_token=token,
        data_dir=settings.director_data_dir,
        api_url=settings.discord_api_url,
        gateway_url=settings.discord_gateway_url,
        message_content=settings.discord_message_content,
        allowed_guilds=settings.discord_allowed_guilds,
        admin_role=settings.discord_admin_role,
        shard_count=settings.discord_shard_count,
        max_upload_mb=settings.max_upload_mb,
    )


async def run_slack(settings: Settings, *, http: bool, host: str | None = None) -> int:
    """Socket Mode (SLACK_APP_TOKEN), or HTTP mode serving /slack/events on $HOST:$PORT."""
    from adapters.slack import create_slack_runtime
    from adapters.slack.server import HttpServer

    config = slack_config(settings)
    if http:
        require_secret(settings.slack_signing_secret, "SLACK_SIGNING_SECRET")
    else:
        require_secret(settings.slack_app_token, "SLACK_APP_TOKEN (or run with --http)")
    app = await build_app(settings, role="web" if http else "slack")
    runtime = create_slack_runtime(app, config)
    server: HttpServer | None = None
    socket = None
    # In HTTP mode the media and player routes are served by the Slack server itself.
    await app.start(serve_media=not http)
    try:
        if http:
            server = HttpServer(runtime.aiohttp_app(app.health))
            bind = host or settings.host
            port = await server.start(bind, settings.port)
            if not settings.media_public_url:
                shown = settings.media_host if bind in ("0.0.0.0", "::", "") else bind
                app.media_base_url = f"http://{shown}:{port}"
            log.info("Slack HTTP mode on port %d: POST /slack/events, /slack/interactivity", port)
        else:
            socket = runtime.socket_mode()
            await socket.connect()
            log.info("Slack Socket Mode connected")
        await until_stopped()
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
    from adapters.discord import DiscordBot

    config = discord_config(settings)
    app = await build_app(settings, role="discord")
    bot = DiscordBot(app, config)
    try:
        # Log in over REST before starting the App, so the messages of turns interrupted
        # by a restart can be edited; then connect to the gateway.
        await bot.login()
        if sync:
            await bot.sync(guild_id)
            return 0
        await app.start()
        await until_stopped(bot.connect())
    finally:
        await app.stop()  # while REST still works: interrupted turns show so on their messages
        await bot.close()
    return 0


async def run_worker(settings: Settings, *, concurrency: int | None = None) -> int:
    """Run turns from the task queue (PostgreSQL) and deliver them through the platforms'
    REST APIs, for every platform whose token is set."""
    from core.storage.database import is_postgres

    if not is_postgres(settings.resolved_database_url):
        raise SettingsError("`director-bot worker` needs DATABASE_URL=postgresql://… (with SQLite, each bot "
                            "process runs its own turns: no worker is needed)")
    if concurrency is not None:
        if concurrency < 1:
            raise SettingsError("--concurrency must be at least 1")
        settings = settings.model_copy(update={"max_concurrent_turns": concurrency})
    app = await build_app(settings, role="worker")
    closers = []
    if secret_value(settings.slack_bot_token):
        from adapters.slack import SlackDelivery

        closers.append(SlackDelivery(app, slack_config(settings)).close)
    if secret_value(settings.discord_bot_token):
        from adapters.discord.delivery_only import DiscordDelivery

        discord = DiscordDelivery(app, discord_config(settings))
        await discord.login()
        closers.append(discord.close)
    if not closers:
        raise SettingsError("the worker needs SLACK_BOT_TOKEN and/or DISCORD_BOT_TOKEN to deliver answers")
    # Media links of the local backend are served by the web process (MEDIA_PUBLIC_URL).
    await app.start(serve_media=False)
    log.info("worker running up to %d turn(s) at once for %s", settings.max_concurrent_turns,
             ", ".join(app.platforms.platforms))
    try:
        await until_stopped()
    finally:
        await app.stop()
        for close in closers:
            await close()
    log.info("worker stopped")
    return 0
