"""Retries never do a thing twice: reads are retried, writes only when VideoDB cannot
have carried them out yet; a write whose answer was lost is looked up, not repeated."""

from __future__ import annotations

import pytest

from core.errors import BackendError
from core.video.backend import UploadSource
from core.video.videodb import VideoDBBackend
from tests.fakes.videodb_server import VideoDBEmulator


async def test_an_upload_whose_answer_was_lost_is_found_not_repeated(backend: VideoDBBackend,
                                                                      emulator: VideoDBEmulator) -> None:
    emulator.fail_after("POST", r"collection/default/upload", 502)
    video = await backend.upload("default", UploadSource(url="https://example.com/keynote.mp4"), name="Keynote")
    assert len(emulator.requests_to("POST", r"collection/default/upload")) == 1
    [stored] = [v for v in emulator.videos.values() if v["collection_id"] == "default"]
    assert video.id == stored["id"] and video.name == "Keynote"


async def test_a_collection_whose_answer_was_lost_is_found_not_made_twice(backend: VideoDBBackend,
                                                                           emulator: VideoDBEmulator) -> None:
    emulator.fail_after("POST", r"collection", 500)
    made = await backend.create_collection("slack T1 C1")
    assert len(emulator.requests_to("POST", r"collection")) == 1
    [stored] = [c for c in emulator.collections.values() if c["name"] == "slack T1 C1"]
    assert made.id == stored["id"]


async def test_a_generation_that_may_have_run_is_not_repeated(backend: VideoDBBackend,
                                                               emulator: VideoDBEmulator) -> None:
    emulator.fail_after("POST", r"collection/default/generate/video", 502)
    with pytest.raises(BackendError, match="may have been done anyway") as info:
        await backend.generate_video("default", "a red car", 5)
    assert "did not repeat it" in info.value.user_message
    assert len(emulator.requests_to("POST", r"collection/default/generate/video")) == 1


async def test_a_write_is_retried_when_it_cannot_have_run(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    emulator.fail("GET", r"collection/default", 503)  # before the write: nothing was made
    emulator.fail("POST", r"collection/default/generate/video", 429, retry_after="0")  # refused, not run
    video = await backend.generate_video("default", "a red car", 5)
    assert video.id in emulator.videos
    assert len(emulator.requests_to("POST", r"collection/default/generate/video")) == 2
    assert len([v for v in emulator.videos.values() if v["name"] == "a red car"]) == 1


async def test_a_write_to_a_server_that_never_answered_is_retried(emulator: VideoDBEmulator) -> None:
    base = emulator.base_url
    emulator.stop()  # every connection is refused: no request reaches anyone
    backend = VideoDBBackend(emulator.api_key, base, max_retries=2, retry_base_delay=0.0)
    try:
        with pytest.raises(BackendError, match="after 3 attempts"):
            await backend.generate_image("default", "a red car")
    finally:
        await backend.close()


async def test_reads_are_retried_through_5xx(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "talk")
    emulator.fail("POST", rf"video/{vid}/stream", 502, times=2)
    assert (await backend.stream("default", vid, [(1, 2)])).stream_url
    assert len(emulator.requests_to("POST", rf"video/{vid}/stream")) == 3
