"""Segment streams, compilations across videos, and frames."""

from __future__ import annotations

import pytest

from core.errors import InputError, InvalidRange, UnknownVideo
from core.video.backend import ShotRef
from core.video.videodb import VideoDBBackend
from tests.fakes.videodb_server import VideoDBEmulator


async def test_segment_stream(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "talk", length=120.0)
    link = await backend.stream("default", vid, [(10, 20), (30.5, 35)])

    [request] = emulator.requests_to("POST", rf"video/{vid}/stream")
    assert request.body == {"timeline": [[10.0, 20.0], [30.5, 35.0]], "length": 120.0}
    assert link.stream_url.startswith(emulator.base_url) and link.stream_url.endswith(".m3u8")
    assert link.player_url and "/watch?v=" in link.player_url
    assert (link.start, link.end, link.duration) == (10, 35, 14.5)


async def test_whole_video_stream_needs_no_request(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "talk", length=30.0)
    link = await backend.stream("default", vid)
    assert link.stream_url == emulator.videos[vid]["stream_url"] and link.duration == 30.0
    assert emulator.requests_to("POST", rf"video/{vid}/stream") == []


async def test_stream_range_outside_video(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "short", length=10.0)
    with pytest.raises(InvalidRange, match="10s long"):
        await backend.stream("default", vid, [(5, 12)])
    with pytest.raises(InvalidRange):
        await backend.stream("default", vid, [(5, 5)])
    assert emulator.requests_to("POST", rf"video/{vid}/stream") == []


async def test_compile_across_two_videos(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    a = emulator.add_video("default", "a", length=60.0)
    b = emulator.add_video("default", "b", length=30.0)
    link = await backend.compile("default", [ShotRef(video_id=a, start=1, end=4),
                                             ShotRef(video_id=b, start=10, end=20),
                                             ShotRef(video_id=a, start=50, end=55)])

    [request] = emulator.requests_to("POST", r"compile")
    assert request.body == [
        {"video_id": a, "collection_id": "default", "shots": [[1.0, 4.0]]},
        {"video_id": b, "collection_id": "default", "shots": [[10.0, 20.0]]},
        {"video_id": a, "collection_id": "default", "shots": [[50.0, 55.0]]},
    ]
    assert link.stream_url.startswith(emulator.base_url) and link.player_url
    assert link.duration == 18.0


async def test_compile_checks_ranges_and_membership(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    a = emulator.add_video("default", "a", length=60.0)
    b = emulator.add_video("default", "b", length=30.0)
    other = emulator.add_video(emulator.add_collection("other"), "x", length=30.0)
    with pytest.raises(InvalidRange, match="30s long"):
        await backend.compile("default", [ShotRef(video_id=a, start=1, end=4), ShotRef(video_id=b, start=25, end=40)])
    with pytest.raises(UnknownVideo):
        await backend.compile("default", [ShotRef(video_id=other, start=1, end=4)])
    with pytest.raises(InputError):
        await backend.compile("default", [])
    assert emulator.requests_to("POST", r"compile") == []


async def test_frame(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "talk", length=60.0)
    image = await backend.frame("default", vid, 12.5)
    assert image.url.startswith(f"{emulator.base_url}/image/")
    [request] = emulator.requests_to("POST", rf"video/{vid}/thumbnail")
    assert request.body == {"time": 12.5}
    assert (await backend.frame("default", vid, 0)).url  # time 0 takes the SDK's other branch
    with pytest.raises(InvalidRange):
        await backend.frame("default", vid, 61)
