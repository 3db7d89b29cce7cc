"""The VideoDB-only capabilities, each through the real SDK call."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from core.errors import InputError
from core.video.videodb import VideoDBBackend
from tests.core.video.videodb.helpers import ProgressLog
from tests.fakes.videodb_server import VideoDBEmulator


async def test_add_subtitles(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "talk", length=30.0)
    progress = ProgressLog()
    link = await backend.add_subtitles("default", vid, progress)
    [request] = emulator.requests_to("POST", rf"video/{vid}/workflow")
    assert request.body["type"] == "add_subtitles" and "subtitle_style" in request.body
    assert link.stream_url.startswith(emulator.base_url) and link.title == "talk (subtitled)"
    # VideoDB answers this route with a stream link only; the card's Watch link must still exist
    assert link.player_url == f"https://console.videodb.io/player?url={quote(link.stream_url, safe=':/')}"
    assert progress.messages == ["adding subtitles…"]


async def test_generate_image(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    image = await backend.generate_image("default", "a lighthouse at dusk", aspect_ratio="16:9")
    [request] = emulator.requests_to("POST", r"collection/default/generate/image")
    assert request.body["prompt"] == "a lighthouse at dusk" and request.body["aspect_ratio"] == "16:9"
    assert image.url.startswith(f"{emulator.base_url}/image/img-")


async def test_generate_voice_and_music(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    voice = await backend.generate_voice("default", "Hello team")
    music = await backend.generate_music("default", "calm piano", duration=7.4)
    bodies = [r.body for r in emulator.requests_to("POST", r"collection/default/generate/audio")]
    assert [b["audio_type"] for b in bodies] == ["voice", "music"] and bodies[1]["duration"] == 7
    assert voice.stream_url.endswith(".mp3") and music.duration == 7.0


async def test_generate_video_and_dub(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    made = await backend.generate_video("default", "waves", duration=5)
    assert made.id in emulator.videos and made.length == 5.0
    dubbed = await backend.dub("default", made.id, "fr")
    assert dubbed.id != made.id and dubbed.name == "waves (fr)"
    with pytest.raises(InputError):
        await backend.generate_video("default", "too long", duration=30)


async def test_scene_index_and_visual_search(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "drive", length=30.0)
    scene_index_id = await backend.index_scenes("default", vid, prompt="describe the cars")
    assert scene_index_id.startswith("si-")
    shots = await backend.search_visual("default", "red car", video_id=vid)
    [request] = emulator.requests_to("POST", rf"video/{vid}/search")
    assert request.body["index_type"] == "scene" and request.body["search_type"] == "semantic"
    assert shots[0].text == "a red car"
