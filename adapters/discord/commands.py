"""The /director slash-command group.

Every handler defers first (Discord's 3-second deadline), then only checks and
hands a line of text (and the attachment, if any) to `Sessions.submit`, which
records it before anything slow happens.
Commands other than `ask` become the core's command grammar (`search <words>`,
`clip <video> <start>-<end>`…), so they work with or without a language model.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord import inbound
from adapters.discord.cache import VideoCache, matching
from adapters.discord.sessions import Sessions
from core.conversations import Conversations
from core.errors import DirectorError

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]


class Commands:
    """Handlers of the group; kept apart from discord.py's decorators for readability."""

    def __init__(self, sessions: Sessions, conversations: Conversations, cache: VideoCache) -> None:
        self.sessions = sessions
        self.conversations = conversations
        self.cache = cache

    async def begin(self, interaction: Interaction, *, ephemeral: bool = False) -> bool:
        """Defer at once, then check the server is allowed."""
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        return await self.sessions.allowed(interaction)

    async def run(self, interaction: Interaction, text: str) -> None:
        if await self.begin(interaction):
            await self.sessions.submit(interaction, text)

    async def upload(self, interaction: Interaction, file: discord.Attachment | None, url: str | None) -> None:
        if not await self.begin(interaction):
            return
        if file is None and not (url and url.strip()):
            await self.sessions.reply(interaction, "Attach a video file or give a link to one.")
            return
        await self.sessions.submit(interaction, inbound.upload_text(None if file else url), file)

    async def clip(self, interaction: Interaction, video: str, start: str, end: str) -> None:
        if not await self.begin(interaction):
            return
        try:
            text = inbound.clip_text(video, start, end)
        except ValueError as exc:
            await self.sessions.reply(interaction, str(exc))
            return
        await self.sessions.submit(interaction, text)

    async def collection(self, interaction: Interaction, collection_id: str | None) -> None:
        """Show the channel's collection, or (admins) bind it to an existing one."""
        if not await self.begin(interaction, ephemeral=True):
            return
        key = self.sessions.channel_of(interaction)
        if key is None:
            await self.sessions.reply(interaction, "Use this in a server's text channel.")
            return
        if collection_id:
            if not self.sessions.is_admin(interaction):
                await self.sessions.reply(interaction, "Binding a collection needs the Manage Server permission "
                                                       "or the bot's admin role.")
                return
            try:
                await self.conversations.bind_collection(key, collection_id.strip())
            except DirectorError as exc:
                await self.sessions.reply(interaction, exc.user_message)
                return
            self.cache.invalidate(key)
            await self.sessions.reply(interaction, f"This channel now uses collection `{collection_id.strip()}`.")
            return
        row = await self.conversations.channel_binding(key)
        if row is None:
            text = "This channel has no collection yet; the first request here creates one."
        else:
            text = f"This channel's collection: `{row.collection_id}` ({row.backend}, “{row.name}”)."
        await self.sessions.reply(interaction, text)

    async def video_choices(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete from the cache; never waits on the backend for long."""
        key = self.sessions.channel_of(interaction)
        if key is None or not self.sessions.guild_allowed(interaction.guild_id):
            return []
        videos = await self.cache.videos(key)
        return [app_commands.Choice(name=inbound.choice_name(v.name or v.id), value=v.id[:100])
                for v in matching(videos, current)]


def build_group(commands: Commands) -> app_commands.Group:
    """`/director ask|upload|search|videos|clip|compile|help|collection`."""
    group = app_commands.Group(name="director", description="Search, clip and compile this channel's videos",
                               guild_only=True)

    @group.command(name="ask", description="Ask anything about this channel's videos")
    @app_commands.describe(prompt="What you want, in your own words")
    async def ask(interaction: Interaction, prompt: app_commands.Range[str, 1, 1500]) -> None:
        await commands.run(interaction, inbound.ask_text(prompt))

    @group.command(name="upload", description="Add a video to this channel (attach it, or give a link)")
    @app_commands.describe(file="A video file", url="A link to a video")
    async def upload(interaction: Interaction, file: discord.Attachment | None = None,
                     url: str | None = None) -> None:
        await commands.upload(interaction, file, url)

    @group.command(name="search", description="Find where words are said in this channel's videos")
    @app_commands.describe(query="Words to look for")
    async def search(interaction: Interaction, query: app_commands.Range[str, 1, 500]) -> None:
        await commands.run(interaction, inbound.search_text(query))

    @group.command(name="videos", description="List this channel's videos")
    async def videos(interaction: Interaction) -> None:
        await commands.run(interaction, inbound.videos_text())

    @group.command(name="clip", description="Cut a clip out of a video")
    @app_commands.describe(video="The video", start="Start, e.g. 1:05", end="End, e.g. 1:40")
    async def clip(interaction: Interaction, video: str, start: str, end: str) -> None:
        await commands.clip(interaction, video, start, end)

    @clip.autocomplete("video")
    async def clip_video(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await commands.video_choices(interaction, current)

    @group.command(name="compile", description="One stream of every place these words are said")
    @app_commands.describe(query="Words to look for")
    async def compile_(interaction: Interaction, query: app_commands.Range[str, 1, 500]) -> None:
        await commands.run(interaction, inbound.compile_text(query))

    @group.command(name="help", description="What Director can do")
    async def help_(interaction: Interaction) -> None:
        await commands.run(interaction, inbound.help_text())

    @group.command(name="collection", description="Show this channel's collection, or bind it (admins)")
    @app_commands.describe(collection_id="Bind this channel to an existing collection (admins only)")
    async def collection(interaction: Interaction, collection_id: str | None = None) -> None:
        await commands.collection(interaction, collection_id)

    return group
