"""A deferred /director command, as it is stored right after the defer.

Deferring is a promise to the person ("Director is thinking…"). The command is
recorded in the durable inbox (`core.runtime.intake`) before anything slow happens
(opening the thread, downloading an attachment, storing the turn), so a process that
dies in between leaves it stored; the next Discord process adopts it and carries it
out over REST, answering the deferred response through the interaction's webhook.

The interaction token is kept in the stored row because that webhook needs it; it is
valid for 15 minutes, the row is deleted once the command is handled, and the token
is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from pydantic import BaseModel

from adapters.discord.files import check_video
from adapters.discord.mentions import NO_PINGS
from core.messages import Attachment

log = logging.getLogger(__name__)

Answer = Callable[[str], Awaitable[None]]
KIND = "command"


class DeferredCommand(BaseModel):
    """What is needed to carry out a deferred command without its `Interaction`."""

    interaction_id: int
    application_id: int
    token: str
    guild_id: int
    channel_id: int
    user_id: int
    text: str
    attachment: Attachment | None = None

    @classmethod
    def of(cls, interaction: discord.Interaction[Any], text: str,
           attachment: discord.Attachment | None, max_bytes: int) -> DeferredCommand:
        """Raises `DirectorError` at once for a file that is not a video or too big."""
        file = None
        if attachment is not None:
            check_video(attachment.filename, attachment.content_type, attachment.size, max_bytes)
            file = Attachment(name=attachment.filename, url=attachment.url, mimetype=attachment.content_type,
                              size=attachment.size, platform_file_id=str(attachment.id))
        return cls(interaction_id=interaction.id, application_id=interaction.application_id,
                   token=interaction.token, guild_id=interaction.guild_id or 0,
                   channel_id=interaction.channel_id or 0, user_id=interaction.user.id, text=text,
                   attachment=file)

    def __repr__(self) -> str:  # the token stays out of logs and tracebacks
        return f"DeferredCommand(interaction_id={self.interaction_id}, guild_id={self.guild_id})"

    __str__ = __repr__


def live_answer(interaction: discord.Interaction[Any]) -> Answer:
    """Edit the deferred response of an interaction this process received."""

    async def answer(text: str) -> None:
        try:
            await interaction.edit_original_response(content=text[:2000], allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.info("could not answer interaction %s (%s %s)", interaction.id, exc.status, exc.code)

    return answer


def webhook_answer(client: discord.Client, command: DeferredCommand) -> Answer:
    """Edit the deferred response of an interaction another (dead) process received.

    The interaction webhook's `@original` message is the deferred response; after the
    token's 15 minutes Discord refuses it, which is logged and otherwise ignored (the
    job's own message in the thread still carries the result)."""
    webhook = discord.Webhook.partial(command.application_id, command.token, client=client)

    async def answer(text: str) -> None:
        try:
            await webhook.edit_message("@original", content=text[:2000],  # type: ignore[arg-type]
                                       allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.info("could not answer interaction %s (%s %s)", command.interaction_id, exc.status, exc.code)

    return answer
