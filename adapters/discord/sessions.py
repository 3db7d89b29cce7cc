"""From a deferred command or a follow-up message to a queued turn: find or open the thread, accept.

Handlers here only check, persist (through `Conversations.accept`) and answer; the
runner does the work and the port shows it. In a text channel a new thread is
opened for the session; inside a thread, that thread is the session. A command is
recorded first (`submit`), then carried out from the store (`handle_stored`), so one
whose process dies after the defer is carried out by the next process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

from adapters.discord import inbound
from adapters.discord.config import DiscordConfig
from adapters.discord.deferred import KIND, Answer, DeferredCommand, live_answer, webhook_answer
from adapters.discord.files import stage_attachment
from adapters.discord.mentions import NO_PINGS
from core.conversations import Conversations
from core.errors import DirectorError
from core.incoming import ChannelKey, Incoming
from core.runtime.intake import InboxItem, Intake

log = logging.getLogger(__name__)

NOT_ALLOWED = "Director isn't enabled on this server. Ask the bot's owner to add it to DISCORD_ALLOWED_GUILDS."
WRONG_PLACE = "Use /director in a server's text channel or in one of its threads."
THREAD_AUTO_ARCHIVE_MIN = 1440
NOT_STARTED = "⚠️ Sorry, I couldn't start on that; please try again."
PERSON_MESSAGES = (discord.MessageType.default, discord.MessageType.reply)
PLATFORM = "discord"


def allowed_guilds(value: str) -> set[int] | None:
    """DISCORD_ALLOWED_GUILDS: None (every server) when unset; set, it never opens more.

    A typo ("my-server") must not turn the allow-list off: entries that are not ids
    are dropped with a warning, and a list of only such entries allows no server.
    """
    entries = value.replace(",", " ").split()  # comma- or space-separated, like the other lists
    if not entries:
        return None
    wrong = [entry for entry in entries if not entry.isdigit()]
    if wrong:
        log.warning("DISCORD_ALLOWED_GUILDS: %s not server id(s); ignored", ", ".join(wrong))
    return {int(entry) for entry in entries if entry.isdigit()}


def admin_roles(value: str) -> set[str]:
    """DISCORD_ADMIN_ROLE: comma-separated role names or ids; a name may contain spaces
    ("Video Admins" must not make everyone with a role called "Admins" an admin)."""
    return {item.strip() for item in value.split(",") if item.strip()}


@dataclass
class Place:
    """Where a turn lives: the guild, the parent channel (collection) and the thread (session)."""

    guild_id: int
    parent_id: int
    thread_id: int
    channel_name: str | None
    new_thread: bool


class Sessions:
    def __init__(self, client: discord.Client, conversations: Conversations, config: DiscordConfig,
                 intake: Intake, staging_dir: Path) -> None:
        self._client = client
        self._conversations = conversations
        self._config = config
        self._intake = intake
        self._staging_dir = staging_dir
        self._max_bytes = config.max_upload_mb * 1024 * 1024
        self._live: dict[int, discord.Interaction[Any]] = {}  # recorded here, not yet handled
        intake.register(PLATFORM, self.handle_stored)
        self._allowed = allowed_guilds(config.allowed_guilds)
        self._admin_roles = admin_roles(config.admin_role)

    # checks ------------------------------------------------------------------------------

    def guild_allowed(self, guild_id: int | None) -> bool:
        return guild_id is not None and (self._allowed is None or guild_id in self._allowed)

    async def allowed(self, interaction: discord.Interaction[Any]) -> bool:
        """After the defer: False (and a polite answer) outside the allowed servers."""
        if self.guild_allowed(interaction.guild_id):
            return True
        await self.reply(interaction, NOT_ALLOWED if interaction.guild_id else WRONG_PLACE)
        return False

    def is_admin(self, interaction: discord.Interaction[Any]) -> bool:
        """Manage Server, or one of DISCORD_ADMIN_ROLE's roles (by name or id)."""
        if interaction.permissions.manage_guild or interaction.permissions.administrator:
            return True
        roles = getattr(interaction.user, "roles", [])
        return any(role.name in self._admin_roles or str(role.id) in self._admin_roles for role in roles)

    def channel_of(self, interaction: discord.Interaction[Any]) -> ChannelKey | None:
        """The collection's channel: a thread's parent, else the channel itself."""
        channel = interaction.channel
        if interaction.guild_id is None or channel is None:
            return None
        parent_id = channel.parent_id if isinstance(channel, discord.Thread) else channel.id
        return inbound.channel_key(interaction.guild_id, parent_id)

    # answering -----------------------------------------------------------------------------

    @staticmethod
    async def reply(interaction: discord.Interaction[Any], text: str) -> None:
        """Edit the deferred answer; an expired interaction token must never matter."""
        await live_answer(interaction)(text)

    # commands ------------------------------------------------------------------------------

    async def submit(self, interaction: discord.Interaction[Any], text: str,
                     attachment: discord.Attachment | None = None) -> None:
        """Record the deferred command (from here on a crash loses nothing); it is carried
        out from the store by `handle_stored`, in this process or the next."""
        try:
            command = DeferredCommand.of(interaction, text, attachment, self._max_bytes)
        except DirectorError as exc:
            await self.reply(interaction, exc.user_message)
            return
        self._live[interaction.id] = interaction
        try:
            await self._intake.record(PLATFORM, str(command.guild_id), KIND, command.model_dump(mode="json"))
        except Exception:
            self._live.pop(interaction.id, None)
            log.exception("could not record a /director command")
            await self.reply(interaction, NOT_STARTED)

    async def handle_stored(self, item: InboxItem) -> None:
        """Open (or reuse) the thread, stage the file, queue the turn, point the person at the thread."""
        if item.kind != KIND:
            log.warning("ignored a stored Discord request of kind %r", item.kind)
            return
        command = DeferredCommand.model_validate(item.payload)
        interaction = self._live.pop(command.interaction_id, None)
        answer = live_answer(interaction) if interaction else webhook_answer(self._client, command)
        try:
            place = await self._place(command, interaction)
            if place is None:
                await answer(WRONG_PLACE)
                return
            files = [] if command.attachment is None else [
                await stage_attachment(command.attachment, self._staging_dir, self._max_bytes)]
        except DirectorError as exc:
            await answer(exc.user_message)
            return
        incoming = inbound.interaction_create(
            interaction_id=command.interaction_id, guild_id=place.guild_id, parent_id=place.parent_id,
            thread_id=place.thread_id, user_id=command.user_id, text=command.text, attachments=files,
            channel_name=place.channel_name)
        incoming.inbox_id = item.id  # deleted in the transaction that stores the turn
        if await self._accept(incoming, answer) is None:
            return
        await answer(f"Working on it in <#{place.thread_id}>")

    async def _place(self, command: DeferredCommand, interaction: discord.Interaction[Any] | None) -> Place | None:
        """The session's thread; a command adopted from a dead process finds its channel over REST."""
        channel: Any = interaction.channel if interaction is not None else None
        if not isinstance(channel, (discord.Thread, discord.TextChannel)):
            channel = await self._resolve_channel(command.channel_id)
        if isinstance(channel, discord.Thread):
            parent = channel.parent
            return Place(command.guild_id, channel.parent_id, channel.id, parent.name if parent else None, False)
        if isinstance(channel, discord.TextChannel):
            thread = await self._open_thread(channel, command.text)
            return Place(command.guild_id, channel.id, thread.id, channel.name, True)
        return None

    @staticmethod
    async def _open_thread(channel: discord.TextChannel, text: str) -> discord.Thread:
        try:
            return await channel.create_thread(name=inbound.thread_name(text), type=discord.ChannelType.public_thread,
                                               auto_archive_duration=THREAD_AUTO_ARCHIVE_MIN)
        except discord.HTTPException as exc:
            log.warning("could not open a thread in %s (%s %s)", channel.id, exc.status, exc.code)
            raise DirectorError("I can't open a thread here: I need the Create Public Threads and "
                                "Send Messages in Threads permissions.") from exc

    async def _accept(self, incoming: Incoming, answer: Answer) -> object | None:
        try:
            accepted = await self._conversations.accept(incoming)
        except DirectorError as exc:
            await answer(exc.user_message)
            return None
        if accepted is None:
            log.info("duplicate Discord delivery ignored", extra={"keys": incoming.event_keys})
        return accepted

    # follow-up messages --------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        """@mentions start or continue a session; plain thread messages too with the content intent."""
        if message.author.bot or message.guild is None or not self.guild_allowed(message.guild.id):
            return
        if message.type not in PERSON_MESSAGES:  # "renamed the thread", "pinned a message"…
            return
        bot_user = self._client.user
        if bot_user is None:
            return
        mentioned = any(user.id == bot_user.id for user in message.mentions)
        channel: Any = message.channel
        if not isinstance(channel, (discord.Thread, discord.TextChannel)):
            channel = await self._resolve_channel(channel.id)
        if isinstance(channel, discord.Thread):
            await self._thread_message(message, channel, mentioned, bot_user.id)
        elif isinstance(channel, discord.TextChannel) and mentioned:
            await self._channel_mention(message, channel, bot_user.id)

    async def _resolve_channel(self, channel_id: int) -> Any:
        try:
            return self._client.get_channel(channel_id) or await self._client.fetch_channel(channel_id)
        except discord.HTTPException:
            return None

    async def _thread_message(self, message: discord.Message, thread: discord.Thread, mentioned: bool,
                              bot_id: int) -> None:
        key = inbound.thread_key(message.guild.id, thread.parent_id, thread.id)  # type: ignore[union-attr]
        if not mentioned:
            if not self._config.message_content or not (message.content.strip() or message.attachments):
                return  # a sticker or an embed alone is not a request
            if not await self._conversations.has_session(key):
                return
        parent = thread.parent
        await self._accept_message(message, thread.parent_id, thread.id, parent.name if parent else None, bot_id)

    async def _channel_mention(self, message: discord.Message, channel: discord.TextChannel, bot_id: int) -> None:
        text = inbound.strip_mention(message.content, bot_id)
        try:
            thread = await message.create_thread(name=inbound.thread_name(text),
                                                 auto_archive_duration=THREAD_AUTO_ARCHIVE_MIN)
        except discord.HTTPException as exc:
            log.warning("could not open a thread from message %s (%s)", message.id, exc.status)
            return
        await self._accept_message(message, channel.id, thread.id, channel.name, bot_id)

    async def _accept_message(self, message: discord.Message, parent_id: int, thread_id: int,
                              channel_name: str | None, bot_id: int) -> None:
        text = inbound.strip_mention(message.content, bot_id)
        files = inbound.message_attachments(
            [(a.filename, a.url, a.content_type, a.size) for a in message.attachments])
        incoming = inbound.message_create(
            message_id=message.id, guild_id=message.guild.id, parent_id=parent_id,  # type: ignore[union-attr]
            thread_id=thread_id, user_id=message.author.id, text=text or ("upload" if files else "help"),
            attachments=files, channel_name=channel_name)
        await self._accept(incoming, lambda text: _answer_message(message, text))


async def _answer_message(message: discord.Message, text: str) -> None:
    try:
        await message.reply(text[:2000], mention_author=False, allowed_mentions=NO_PINGS)
    except discord.HTTPException:
        log.info("could not answer message %s", message.id)
