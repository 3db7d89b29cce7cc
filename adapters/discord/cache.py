"""Per-channel video lists for autocomplete, which must answer within Discord's 3 seconds.

Answers come from memory; a stale or missing entry is refreshed in the background
through the core (`Conversations.videos`). Only a channel never seen before waits,
and then briefly. Memory stays bounded: a refresh forgets its task when it ends, and
only the `max_channels` most recently used channels are kept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.incoming import ChannelKey
from core.video.backend import VideoInfo

log = logging.getLogger(__name__)

ListVideos = Callable[[ChannelKey, int], Awaitable[list[VideoInfo]]]


@dataclass
class _Entry:
    videos: list[VideoInfo]
    fetched_at: float


class VideoCache:
    def __init__(self, list_videos: ListVideos, *, ttl_s: float = 30.0, first_wait_s: float = 1.5,
                 size: int = 200, max_channels: int = 1000) -> None:
        self._list = list_videos
        self._ttl = ttl_s
        self._first_wait = first_wait_s
        self._size = size
        self._max_channels = max_channels
        self._entries: OrderedDict[ChannelKey, _Entry] = OrderedDict()
        self._refreshing: dict[ChannelKey, asyncio.Task[None]] = {}

    @property
    def channels(self) -> int:
        """Channels whose list is in memory."""
        return len(self._entries)

    @property
    def refreshing(self) -> int:
        """Listings running now."""
        return len(self._refreshing)

    async def videos(self, key: ChannelKey) -> list[VideoInfo]:
        """What we know now; refreshes in the background when stale."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        if entry is None or time.monotonic() - entry.fetched_at > self._ttl:
            task = self._refresh(key)
            if entry is None:
                try:
                    await asyncio.wait_for(asyncio.shield(task), self._first_wait)
                except (asyncio.TimeoutError, Exception):
                    pass
                entry = self._entries.get(key)
        return entry.videos if entry else []

    def invalidate(self, key: ChannelKey) -> None:
        """Mark a channel stale (e.g. after a turn that may have uploaded)."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.fetched_at = float("-inf")

    def _refresh(self, key: ChannelKey) -> asyncio.Task[None]:
        task = self._refreshing.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load(key))
            self._refreshing[key] = task
            task.add_done_callback(lambda _done: self._refreshing.pop(key, None))
        return task

    async def _load(self, key: ChannelKey) -> None:
        try:
            videos = await self._list(key, self._size)
        except Exception:
            log.exception("could not list videos for autocomplete")
            return
        self._entries[key] = _Entry(videos, time.monotonic())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_channels:
            self._entries.popitem(last=False)


def matching(videos: list[VideoInfo], current: str, limit: int = 25) -> list[VideoInfo]:
    """Videos whose title or id contains what was typed, title-prefix matches first."""
    typed = current.strip().lower()
    if not typed:
        return videos[:limit]
    hits = [v for v in videos if typed in v.name.lower() or v.id.lower().startswith(typed)]
    hits.sort(key=lambda v: (not v.name.lower().startswith(typed), v.name.lower()))
    return hits[:limit]
