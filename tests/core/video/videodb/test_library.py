"""Collections, listing, lookup and upload against the emulator."""

from __future__ import annotations

import pytest

from core.errors import InputError, UnknownVideo, UnsafeURL
from core.video.backend import Capability, UploadSource
from core.video.videodb import VideoDBBackend
from tests.core.video.videodb.helpers import ProgressLog
from tests.fakes.videodb_server import VideoDBEmulator


async def test_name_and_every_capability(backend: VideoDBBackend) -> None:
    assert backend.name == "videodb"
    assert all(backend.has(c) for c in Capability)


async def test_create_and_get_collection(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    created = await backend.create_collection("#general", "Slack channel C1")
    assert created.id.startswith("c-") and created.name == "#general"
    assert emulator.collections[created.id]["description"] == "Slack channel C1"
    assert await backend.get_collection(created.id) == created
    assert await backend.get_collection("c-missing") is None


async def test_list_most_recent_first_count_and_find(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    cid = emulator.add_collection("team")
    old = emulator.add_video(cid, "Quarterly Budget Review")
    new = emulator.add_video(cid, "Rocket launch highlights")
    emulator.add_video("default", "Budget elsewhere")

    videos = await backend.list_videos(cid)
    assert [v.id for v in videos] == [new, old]
    assert videos[0].stream_url and videos[0].stream_url.startswith(emulator.base_url)
    assert [v.id for v in await backend.list_videos(cid, limit=1)] == [new]
    assert await backend.count_videos(cid) == 2
    assert [v.id for v in await backend.find_videos(cid, "budget REVIEW")] == [old]
    assert [v.id for v in await backend.find_videos(cid, "launch plans")] == [new]
    assert await backend.find_videos(cid, "holiday") == []


async def test_get_video_maps_links_and_length(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "demo", length=42.5)
    info = await backend.get_video("default", vid)
    assert (info.id, info.collection_id, info.name, info.length) == (vid, "default", "demo", 42.5)
    assert info.player_url == f"{emulator.base_url}/watch?v={vid}"
    assert info.thumbnail_url and info.thumbnail_url.startswith(emulator.base_url)


async def test_video_of_another_collection_is_unknown(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    mine = emulator.add_collection("mine")
    theirs = emulator.add_collection("theirs")
    vid = emulator.add_video(theirs, "secret plans")
    with pytest.raises(UnknownVideo):
        await backend.get_video(mine, vid)
    with pytest.raises(UnknownVideo):
        await backend.stream(mine, vid, [(0, 5)])
    with pytest.raises(UnknownVideo):
        await backend.delete_video(mine, vid)
    assert vid in emulator.videos
    assert emulator.requests_to("POST", r"video/.*/stream") == []


async def test_delete_video(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "old")
    await backend.delete_video("default", vid)
    assert vid not in emulator.videos


async def test_upload_by_url_goes_through_polling(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    progress = ProgressLog()
    info = await backend.upload("default", UploadSource(url="https://example.com/media/keynote.mp4"),
                                progress=progress)

    assert info.name == "keynote" and info.collection_id == "default" and info.length == 60.0
    assert info.stream_url and info.stream_url.startswith(emulator.base_url)
    [post] = emulator.requests_to("POST", r"collection/default/upload")
    assert post.body["url"] == "https://example.com/media/keynote.mp4"
    assert len(emulator.requests_to("GET", r"async-response/.+")) == emulator.processing_polls + 1
    assert progress.messages[:2] == ["uploading keynote.mp4…"] * 2
    assert progress.fractions == sorted(progress.fractions)
    assert 0 < progress.fractions[1] < 1 and progress.fractions[-1] == 1.0


async def test_upload_by_file_path_posts_the_file(backend: VideoDBBackend, emulator: VideoDBEmulator,
                                                  tmp_path) -> None:
    clip = tmp_path / "standup.mp4"
    clip.write_bytes(b"\x00" * 2048)
    info = await backend.upload("default", UploadSource(path=clip))

    assert info.name == "standup"
    [asked] = emulator.requests_to("GET", r"collection/default/upload_url")
    assert asked.query["name"] == "standup"
    [blob] = emulator.requests_to("POST", r"blob/.+")
    assert len(blob.body) > 2048  # multipart around the file
    [post] = emulator.requests_to("POST", r"collection/default/upload")
    assert post.body["url"] == f"{emulator.base_url}/{blob.path}"


async def test_upload_bytes_uses_a_temp_file(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    info = await backend.upload("default", UploadSource(data=b"\x01" * 100, filename="../clip.mov"), name="Clip")
    assert info.name == "Clip"
    assert len(emulator.requests_to("POST", r"blob/.+")) == 1


async def test_upload_refuses_other_schemes_and_bad_sources(backend: VideoDBBackend, emulator: VideoDBEmulator,
                                                            tmp_path) -> None:
    with pytest.raises(UnsafeURL):
        await backend.upload("default", UploadSource(url="file:///etc/passwd"))
    with pytest.raises(InputError):
        await backend.upload("default", UploadSource())
    with pytest.raises(InputError):
        await backend.upload("default", UploadSource(path=tmp_path / "missing.mp4"))
    assert emulator.requests_to("POST", r"collection/.*/upload") == []
