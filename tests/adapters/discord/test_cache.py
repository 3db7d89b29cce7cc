"""Autocomplete answers from memory: a slow listing never holds it past Discord's 3 s."""

from __future__ import annotations

import asyncio
import time

from adapters.discord.cache import VideoCache, matching
from core.incoming import ChannelKey
from core.video.backend import VideoInfo

KEY = ChannelKey(platform="discord", workspace_id="1", channel_id="2")


def info(name: str) -> VideoInfo:
    return VideoInfo(id=name.replace(" ", "-"), collection_id="c", name=name)


async def test_first_call_waits_briefly_then_serves_from_memory_while_refreshing() -> None:
    calls: list[float] = []
    release = asyncio.Event()

    async def slow_list(key: ChannelKey, limit: int) -> list[VideoInfo]:
        calls.append(time.monotonic())
        if len(calls) > 1:
            await release.wait()
        return [info("quarterly review"), info("launch plan")]

    cache = VideoCache(slow_list, ttl_s=0.0, first_wait_s=0.5)
    assert [v.name for v in await cache.videos(KEY)] == ["quarterly review", "launch plan"]
    started = time.monotonic()
    assert len(await cache.videos(KEY)) == 2  # stale: refresh starts, answer is immediate
    assert time.monotonic() - started < 0.1
    release.set()


async def test_a_channel_whose_listing_hangs_gets_an_empty_answer_in_time() -> None:
    async def hanging(key: ChannelKey, limit: int) -> list[VideoInfo]:
        await asyncio.Event().wait()
        return []

    cache = VideoCache(hanging, first_wait_s=0.2)
    started = time.monotonic()
    assert await cache.videos(KEY) == []
    assert time.monotonic() - started < 1.0


async def test_finished_listings_and_old_channels_are_forgotten() -> None:
    async def listing(key: ChannelKey, limit: int) -> list[VideoInfo]:
        return [info(f"talk in {key.channel_id}")]

    cache = VideoCache(listing, max_channels=3)
    keys = [ChannelKey(platform="discord", workspace_id="1", channel_id=str(i)) for i in range(10)]
    for key in keys:
        assert [v.name for v in await cache.videos(key)] == [f"talk in {key.channel_id}"]
    assert cache.refreshing == 0 and cache.channels == 3
    assert [v.name for v in await cache.videos(keys[-1])] == ["talk in 9"]  # still in memory
    assert cache.refreshing == 0


def test_matching_prefers_title_prefixes() -> None:
    videos = [info("the quarterly review"), info("quarterly plan"), info("launch")]
    assert [v.name for v in matching(videos, "quart")] == ["quarterly plan", "the quarterly review"]
    assert len(matching(videos, "")) == 3
