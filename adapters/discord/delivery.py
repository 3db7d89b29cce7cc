"""Showing a turn in Discord: one job message in the thread, posted once by the bot, then edited.

The runner asks `DiscordPort.observer_for` for each turn. The observer posts the
job message with the bot token (never the interaction token, which dies after 15
minutes), stores its (channel, message) at once, and hands every later state to an
`EditCoalescer`: latest state wins, at least 1.5 s between edits, at most 4 edits
per 5 s per channel, unchanged renders skipped, a 429 waited out off the job's
path, and the final state always lands. A success with a short clip gets the MP4
attached so it plays inline.

Archived threads are reopened; a locked thread we may not reopen gets the message
in its parent channel instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

from adapters.discord.clips import InlineClip
from adapters.discord.mentions import NO_PINGS
from adapters.discord.render import DiscordRender, render
from adapters.discord.views import build_view
from core.delivery.job_message import JobMessageObserver
from core.delivery.port import SaveRef, TurnRef
from core.delivery.rate import RateWindows
from core.errors import RateLimited
from core.messages import MsgStatus, OutputMessage
from core.retry_after import parse_retry_after

log = logging.getLogger(__name__)

THREAD_ARCHIVED = 50083
UNKNOWN_MESSAGE = 10008
UNKNOWN_CHANNEL = 10003
ButtonClass = type[discord.ui.DynamicItem[discord.ui.Button[Any]]]


@dataclass
class DeliveryOptions:
    """Edit pacing and inline clips; tests and benchmarks may change these."""

    min_interval: float = 1.5
    edits_per_window: int = 4
    window_seconds: float = 5.0
    inline_clips: bool = True
    inline_max_seconds: float = 180.0


def retry_after(exc: discord.HTTPException) -> float:
    headers = getattr(exc.response, "headers", None) or {}
    return parse_retry_after(headers.get("Retry-After")) or 1.0


class DiscordTurnObserver(JobMessageObserver[DiscordRender]):
    """Renders one turn's OutputMessage into one Discord message."""

    def __init__(self, client: discord.Client, turn: TurnRef, save_ref: SaveRef, windows: RateWindows,
                 options: DeliveryOptions, button_cls: ButtonClass, clips: InlineClip,
                 on_final: Callable[[TurnRef], None] | None = None) -> None:
        channel = turn.output_ref["channel"] if turn.output_ref else turn.thread.thread_id
        super().__init__(turn, save_ref, min_interval=options.min_interval, window=windows.get(channel))
        self._client = client
        self._on_final = on_final
        self._options = options
        self._button_cls = button_cls
        self._clips = clips
        self._file: str | None = None
        self._in_parent = False  # the thread was locked: the job message lives in the parent channel

    def render(self, message: OutputMessage) -> DiscordRender:
        rendered = render(message).with_file(self._file)
        return _in_parent(rendered, self._turn.thread.thread_id) if self._in_parent else rendered

    async def on_publish(self, message: OutputMessage) -> None:
        if self._post_task is not None:
            await asyncio.shield(self._post_task)
        clip_path = await self._inline_clip(message)
        self._file = str(clip_path) if clip_path else None
        try:
            await super().on_publish(message)
        finally:
            if clip_path is not None:
                clip_path.unlink(missing_ok=True)
            if self._on_final is not None:
                self._on_final(self._turn)

    async def _inline_clip(self, message: OutputMessage) -> Path | None:
        if message.status != MsgStatus.success or not self._options.inline_clips or self._client.is_closed():
            return None
        guild = self._client.get_guild(int(self._turn.thread.workspace_id))
        limit = guild.filesize_limit if guild is not None else 10 * 1024 * 1024
        return await self._clips.fetch(message, limit, self._options.inline_max_seconds)

    # posting and editing ---------------------------------------------------------------------

    def _kwargs(self, rendered: DiscordRender, *, editing: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"content": rendered.content, "allowed_mentions": NO_PINGS,
                                  "embeds": [discord.Embed.from_dict(e) for e in rendered.embeds]}
        view = build_view(rendered, self._button_cls)
        if view is not None or editing:
            kwargs["view"] = view
        if rendered.file:
            file = discord.File(rendered.file, filename="clip.mp4")
            if editing:
                kwargs["attachments"] = [file]
            else:
                kwargs["file"] = file
        return kwargs

    async def _post(self, rendered: DiscordRender, channel_id: str | None = None) -> None:
        """Post the job message (in the thread, else its parent channel) and store where it is.

        Posted once: discord.py already waits out 429s and retries 5xx answers with the same
        nonce (`enforce_nonce`: Discord answers a repeat with the message it made), and a post
        that still fails is not repeated here (the final state is posted once at the end).
        An archived thread is reopened, or the message goes to the parent channel.
        """
        channel_id = channel_id or self._turn.thread.thread_id
        try:
            sent = await self._send(rendered, channel_id)
        except discord.HTTPException as exc:
            if exc.code != THREAD_ARCHIVED or channel_id != self._turn.thread.thread_id:
                log.error("could not post job %s (%s %s)", self._turn.turn_id, exc.status, exc.code)
                return
            if not await self._reopen():
                channel_id = self._turn.thread.channel_id
                self._in_parent = True
                rendered = _in_parent(rendered, self._turn.thread.thread_id)
            try:
                sent = await self._send(rendered, channel_id)
            except discord.HTTPException as again:
                log.error("could not post job %s (%s %s)", self._turn.turn_id, again.status, again.code)
                return
        if sent is not None:
            await self._store_ref({"channel": str(sent.channel.id), "message": str(sent.id)})

    async def _send(self, rendered: DiscordRender, channel_id: str) -> discord.Message | None:
        """One send; a rate limit longer than discord.py waits itself (`discord.RateLimited`)
        means nothing was posted, so it is waited out here once."""
        for wait_first in (False, True):
            if self._client.is_closed():
                log.warning("client closed; job %s was not posted", self._turn.turn_id)
                return None
            try:
                return await self._messageable(channel_id).send(**self._kwargs(rendered, editing=False))
            except discord.RateLimited as exc:
                if wait_first:
                    log.error("job %s still rate limited; it will be posted at the end", self._turn.turn_id)
                    return None
                await asyncio.sleep(exc.retry_after)
        return None

    async def _edit(self, rendered: DiscordRender) -> None:
        if self._ref is None:  # moved out of a locked thread and the new post failed: try again
            await self._post(rendered, self._turn.thread.channel_id if self._in_parent else None)
            return
        if self._client.is_closed():
            log.warning("client closed; job %s edit dropped", self._turn.turn_id)
            return
        message = self._messageable(self._ref["channel"]).get_partial_message(int(self._ref["message"]))
        try:
            await message.edit(**self._kwargs(rendered, editing=True))
        except discord.RateLimited as exc:
            raise RateLimited(exc.retry_after) from exc
        except discord.HTTPException as exc:
            if exc.status == 429:
                raise RateLimited(retry_after(exc)) from exc
            if exc.code in (UNKNOWN_MESSAGE, UNKNOWN_CHANNEL):
                log.warning("job message of %s is gone; it will not be updated", self._turn.turn_id)
                return
            if exc.code == THREAD_ARCHIVED:
                await self._edit_in_archived_thread(rendered)
                return
            raise

    async def _edit_in_archived_thread(self, rendered: DiscordRender) -> None:
        """Reopen the thread and edit again, or move the job message to the parent channel."""
        assert self._ref is not None
        if await self._reopen():
            message = self._messageable(self._ref["channel"]).get_partial_message(int(self._ref["message"]))
            await message.edit(**self._kwargs(rendered, editing=True))
            return
        log.info("thread %s is locked; answering in its parent channel", self._turn.thread.thread_id)
        self._ref = None
        self._in_parent = True
        await self._post(_in_parent(rendered, self._turn.thread.thread_id), self._turn.thread.channel_id)

    async def _reopen(self) -> bool:
        """Unarchive (and unlock) the thread; False if we may not."""
        thread_id = int(self._turn.thread.thread_id)
        try:
            thread = self._client.get_channel(thread_id) or await self._client.fetch_channel(thread_id)
            if not isinstance(thread, discord.Thread):
                return False
            await thread.edit(archived=False, locked=False)
        except discord.HTTPException as exc:
            log.info("could not reopen thread %s (%s %s)", thread_id, exc.status, exc.code)
            return False
        return True

    def _messageable(self, channel_id: str) -> discord.PartialMessageable:
        return self._client.get_partial_messageable(int(channel_id), guild_id=int(self._turn.thread.workspace_id))


def _in_parent(rendered: DiscordRender, thread_id: str) -> DiscordRender:
    """Say why the job message is in the channel rather than its (locked) thread."""
    note = f"(<#{thread_id}> is locked, so I'm answering here.) "
    if rendered.content.startswith(note):
        return rendered
    return DiscordRender(content=(note + rendered.content)[:2000], embeds=rendered.embeds, rows=rendered.rows,
                         file=rendered.file)


class DiscordPort:
    """The core's `PlatformPort` for Discord: one shared per-channel edit budget."""

    platform = "discord"

    def __init__(self, client: discord.Client, button_cls: ButtonClass, staging_dir: Path,
                 options: DeliveryOptions | None = None,
                 on_final: Callable[[TurnRef], None] | None = None) -> None:
        self._client = client
        self._on_final = on_final
        self._button_cls = button_cls
        self.options = options or DeliveryOptions()
        self._windows = RateWindows(self.options.edits_per_window, self.options.window_seconds)
        self._clips = InlineClip(staging_dir)
        self.observers: list[DiscordTurnObserver] = []

    def observer_for(self, turn: TurnRef, save_ref: SaveRef) -> DiscordTurnObserver:
        observer = DiscordTurnObserver(self._client, turn, save_ref, self._windows, self.options,
                                       self._button_cls, self._clips, self._on_final)
        self.observers.append(observer)
        del self.observers[:-100]  # keep the last few, for benchmarks and debugging
        return observer
