"""The Discord process: a discord.py client on the gateway, wired to the core.

Order at start-up matters: log in over REST first (so the port can edit messages),
then start the core (whose runner marks turns a dead process left behind as
interrupted and edits their messages), then connect to the gateway. Commands are
synced only on request (`--sync`), never on every start: Discord allows 200
command creates a day per guild.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord import urls
from adapters.discord.cache import VideoCache
from adapters.discord.commands import Commands, build_group
from adapters.discord.config import DiscordConfig, DiscordConfigError
from adapters.discord.delivery import DeliveryOptions, DiscordPort
from adapters.discord.files import clean_staging, fetch_attachment
from adapters.discord.mentions import NO_PINGS
from adapters.discord.sessions import NOT_ALLOWED, Sessions
from adapters.discord.views import make_turn_button
from core.host import CoreHost
from core.runner.turn_files import staging_dir

log = logging.getLogger(__name__)

MAX_RATELIMIT_TIMEOUT = 30.0  # discord.py's minimum; longer waits raise discord.RateLimited

INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, send_messages_in_threads=True, create_public_threads=True,
    manage_threads=True, embed_links=True, attach_files=True, read_message_history=True, add_reactions=True,
)


def invite_url(application_id: int) -> str:
    """The OAuth2 link that adds the bot with the scopes and permissions it needs."""
    return (f"https://discord.com/oauth2/authorize?client_id={application_id}"
            f"&scope=bot+applications.commands&permissions={INVITE_PERMISSIONS.value}")


def intents(config: DiscordConfig) -> discord.Intents:
    """The default intents; message content (privileged) only when asked for."""
    chosen = discord.Intents.default()
    chosen.message_content = config.message_content
    return chosen


def create_client(config: DiscordConfig) -> discord.Client:
    """A plain client, or an auto-sharded one once DISCORD_SHARD_COUNT is set (2,500+ servers).

    Nothing it sends pings anyone by default (`NO_PINGS`).
    """
    options: dict[str, Any] = {"intents": intents(config), "max_ratelimit_timeout": MAX_RATELIMIT_TIMEOUT,
                               "allowed_mentions": NO_PINGS}
    if config.shard_count:
        return discord.AutoShardedClient(shard_count=config.shard_count, **options)
    return discord.Client(**options)


def bot_token(config: DiscordConfig) -> str:
    """The stripped token; a missing or blank one is a configuration error."""
    token = config.bot_token.strip()
    if not token:
        raise DiscordConfigError("DISCORD_BOT_TOKEN is required to run the Discord bot")
    return token


class DiscordBot:
    """The client, its command tree and persistent buttons, and the port the runner uses."""

    def __init__(self, app: CoreHost, config: DiscordConfig, *, options: DeliveryOptions | None = None) -> None:
        urls.apply(config.api_url, config.gateway_url)
        self.app = app
        self.config = config
        self.client = create_client(config)
        self.tree = app_commands.CommandTree(self.client)
        self.staging_dir = staging_dir(config.data_dir)  # its files go when their turn ends
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        conversations = app.conversations
        self.sessions = Sessions(self.client, conversations, config, app.intake, self.staging_dir)
        self.cache = VideoCache(lambda key, limit: conversations.videos(key, limit=limit))
        self.commands = Commands(self.sessions, conversations, self.cache)
        self.tree.add_command(build_group(self.commands))
        self.tree.on_error = self._on_command_error  # type: ignore[method-assign]
        self.button_cls = make_turn_button(conversations, self._press_refusal)
        self.client.add_dynamic_items(self.button_cls)
        # A finished turn may have added videos: autocomplete re-lists that channel next time.
        self.port = DiscordPort(self.client, self.button_cls, self.staging_dir, options,
                                on_final=lambda turn: self.cache.invalidate(turn.thread.channel))
        app.register_port(self.port)
        conversations.register_fetcher("discord", fetch_attachment)
        self.client.event(self.on_message)
        self.client.event(self.on_ready)
        self._connection: asyncio.Task[None] | None = None

    async def _on_command_error(self, interaction: discord.Interaction[Any],
                                error: app_commands.AppCommandError) -> None:
        """A bug must not leave the person watching "thinking…" forever."""
        log.error("/director failed", exc_info=error)
        if interaction.response.is_done():
            await self.sessions.reply(interaction, "Something went wrong on my side; please try again.")

    async def _press_refusal(self, interaction: discord.Interaction[Any], turn_id: str) -> str | None:
        """Cancel/Retry are for the person who asked, or an admin; anyone can see the buttons."""
        if not self.sessions.guild_allowed(interaction.guild_id):
            return NOT_ALLOWED
        if self.sessions.is_admin(interaction):
            return None
        asker = await self.app.conversations.requester(turn_id)
        if asker is None or asker == str(interaction.user.id):
            return None  # an unknown job is answered by the controls themselves
        return f"Only <@{asker}>, who asked for this job, or an admin can do that."

    # events ------------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        await self.sessions.on_message(message)

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s in %d server(s)", self.client.user, len(self.client.guilds))
        if self.client.application_id:
            log.info("invite link: %s", invite_url(self.client.application_id))

    # lifecycle ---------------------------------------------------------------------------

    async def login(self) -> None:
        """REST only: enough to sync commands or edit job messages."""
        await self.client.login(bot_token(self.config))
        removed = clean_staging(self.staging_dir)
        if removed:
            log.info("removed %d old staged upload(s)", removed)

    async def sync(self, guild_id: int | None = None) -> list[app_commands.AppCommand]:
        """Publish /director: to one server at once (guild), or globally (slower to appear)."""
        if guild_id is None:
            synced = await self.tree.sync()
        else:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        log.info("synced %d command(s) %s", len(synced), f"to guild {guild_id}" if guild_id else "globally")
        return synced

    async def connect(self) -> None:
        """Run on the gateway until closed."""
        await self.client.connect(reconnect=True)

    def connect_in_background(self) -> asyncio.Task[None]:
        self._connection = asyncio.get_running_loop().create_task(self.connect())
        return self._connection

    async def wait_until_ready(self, timeout: float = 30.0) -> None:
        waiter = asyncio.ensure_future(self.client.wait_until_ready())
        tasks: set[asyncio.Future[Any]] = {waiter}
        if self._connection is not None:
            tasks.add(self._connection)
        done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            if self._connection is not None and self._connection.done():
                self._connection.result()  # re-raise why the connection ended
            raise TimeoutError("the Discord client did not become ready")

    async def close(self) -> None:
        try:
            await self.client.close()
        except AttributeError:  # discord.py 2.7.1: AutoShardedClient.close() before it ever connected
            await self.client.http.close()
        if self._connection is not None:
            try:
                await self._connection
            except Exception:
                log.exception("gateway connection ended with an error")


async def start_bot(app: CoreHost, config: DiscordConfig, *, options: DeliveryOptions | None = None,
                    start_app: bool = True) -> DiscordBot:
    """Log in, start the core, connect and wait until ready (tests and benchmarks use this)."""
    bot = DiscordBot(app, config, options=options)
    await bot.login()
    if start_app:
        await app.start()
    bot.connect_in_background()
    await bot.wait_until_ready()
    return bot
