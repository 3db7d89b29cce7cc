"""Bad inputs get a clear message and change nothing (rows and files stay as they were)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from core.errors import (
    DirectorError, InvalidRange, NoAudioTrack, NotAVideo, NotIndexed, TooLarge, UnknownVideo, UnsafeURL,
)
from core.video.backend import ShotRef, UploadSource, VideoInfo
from tests.core.video.local.conftest import FileServer, Library, Media

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.media]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def talk(library: Library, media: Media) -> VideoInfo:
    video = await library.backend.upload(library.collection_id, UploadSource(path=media.talk), name="Talk")
    await library.backend.index_spoken_words(library.collection_id, video.id)
    return video


async def refused(library: Library, error: type[DirectorError], action: Callable[[], Awaitable[Any]]) -> str:
    """Run `action`, expect `error`, check nothing changed; return the user message."""
    before = await library.snapshot()
    with pytest.raises(error) as caught:
        await action()
    assert await library.snapshot() == before
    return caught.value.user_message


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/files/talk.mp4",
    "http://10.1.2.3/video.mp4",
    "http://192.168.0.10/video.mp4",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:{port}/files/talk.mp4",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[::ffff:127.0.0.1]:{port}/files/talk.mp4",
    "http://0.0.0.0:{port}/files/talk.mp4",
    "http://localhost:{port}/files/talk.mp4",  # refused after DNS: localhost is loopback
    "ftp://example.com/video.mp4",
    "file:///etc/passwd",
])
async def test_upload_refuses_internal_addresses(
    library: Library, file_server: FileServer, talk: VideoInfo, url: str
) -> None:
    asked_before = list(file_server.requests)
    message = await refused(library, UnsafeURL, lambda: library.backend.upload(
        library.collection_id, UploadSource(url=url.format(port=file_server.port))))
    assert "private or reserved" in message or "only fetch http and https" in message
    assert file_server.requests == asked_before  # not even one request reached the server


@pytest.mark.parametrize("name", ["to-private", "to-metadata", "to-loopback-v6"])
async def test_redirect_to_an_internal_address_is_refused(
    library: Library, file_server: FileServer, talk: VideoInfo, name: str
) -> None:
    """The test server itself lives on loopback, so this backend allows loopback only for 127.0.0.1."""
    import ipaddress

    from core.video.local.safe_fetch import is_public_address

    backend = library.with_limits()
    allowed = ipaddress.ip_address("127.0.0.1")
    fetcher_policy = lambda address: address == allowed or is_public_address(address)  # noqa: E731
    message = await refused(library, UnsafeURL, lambda: _fetch_with_policy(
        backend, library, f"{file_server.base_url}/{name}", fetcher_policy))
    assert "private or reserved" in message
    assert file_server.requests[-1] == f"/files/{name}"  # the first hop was fetched, the redirect refused


async def _fetch_with_policy(backend: Any, library: Library, url: str, policy: Any) -> None:
    from core.video.local.safe_fetch import SafeFetcher

    target = library.data_dir / "tmp" / "probe.bin"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        await SafeFetcher(max_bytes=backend.max_upload_bytes, policy=policy).fetch(url, target)
    finally:
        target.unlink(missing_ok=True)


async def test_url_upload_from_an_allowed_server_follows_redirects(
    library: Library, file_server: FileServer, talk: VideoInfo
) -> None:
    backend = library.with_limits(allow_private_urls=True)
    elsewhere = (await backend.create_collection("links")).id  # the talk is already in the test channel
    for name in ("hop", "relative-hop"):
        progress: list[tuple[str, float | None]] = []
        video = await backend.upload(elsewhere, UploadSource(url=f"{file_server.base_url}/{name}"),
                                     progress=lambda message, fraction: progress.append((message, fraction)))
        assert video.length == pytest.approx(talk.length, abs=0.05) and video.name == "talk"
        assert ("Downloading", 1.0) in progress and progress[-1] == ("Uploaded", 1.0)
        await backend.delete_video(elsewhere, video.id)


async def test_redirect_loop_gives_up(library: Library, file_server: FileServer, talk: VideoInfo) -> None:
    backend = library.with_limits(allow_private_urls=True)
    message = await refused(library, UnsafeURL, lambda: backend.upload(
        library.collection_id, UploadSource(url=f"{file_server.base_url}/loop")))
    assert "redirected more than 5 times" in message


async def test_missing_url_is_refused(library: Library, file_server: FileServer, talk: VideoInfo) -> None:
    backend = library.with_limits(allow_private_urls=True)
    message = await refused(library, UnsafeURL, lambda: backend.upload(
        library.collection_id, UploadSource(url=f"{file_server.base_url}/nothing.mp4")))
    assert "404" in message


@pytest.mark.parametrize("source_kind", ["path", "data", "url", "chunked-url"])
async def test_oversize_upload_is_refused(
    library: Library, media: Media, file_server: FileServer, talk: VideoInfo, source_kind: str
) -> None:
    backend = library.with_limits(max_upload_bytes=20_000, allow_private_urls=True)
    source = {
        "path": UploadSource(path=media.talk),
        "data": UploadSource(data=media.talk.read_bytes(), filename="talk.mp4"),
        "url": UploadSource(url=f"{file_server.base_url}/talk.mp4"),
        "chunked-url": UploadSource(url=f"{file_server.base_url}/chunked.mp4"),
    }[source_kind]
    message = await refused(library, TooLarge, lambda: backend.upload(library.collection_id, source))
    assert "MAX_UPLOAD_MB" in message


@pytest.mark.parametrize("kind", ["text", "bytes", "image"])
async def test_a_file_that_is_not_a_video_is_refused(
    library: Library, media: Media, talk: VideoInfo, kind: str
) -> None:
    source = {
        "text": UploadSource(path=media.text_file),
        "bytes": UploadSource(data=b"%PDF-1.4 not really" * 100, filename="report.pdf"),
        "image": UploadSource(path=media.image),
    }[kind]
    message = await refused(library, NotAVideo, lambda: library.backend.upload(library.collection_id, source))
    assert source.describe().rsplit("/", 1)[-1] in message


async def test_a_playlist_pointing_at_a_server_file_is_refused(
    library: Library, media: Media, talk: VideoInfo
) -> None:
    """An uploaded HLS playlist naming a file on the server must not pull that file in
    (refused at the probe today; `ffmpeg.REFERENCE_FORMATS` guards it if a probe ever accepts one)."""
    playlist = media.folder / "innocent.m3u8"  # as a chat attachment is staged: its own name kept
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:20\n#EXTINF:20,\n{media.talk}\n#EXT-X-ENDLIST\n")
    message = await refused(library, NotAVideo, lambda: library.backend.upload(
        library.collection_id, UploadSource(path=playlist)))
    assert "innocent.m3u8" in message


async def test_a_missing_local_file_is_refused(library: Library, media: Media, talk: VideoInfo) -> None:
    message = await refused(library, NotAVideo, lambda: library.backend.upload(
        library.collection_id, UploadSource(path=media.folder / "nope.mp4")))
    assert message == "I can't find nope.mp4."


async def test_indexing_a_video_without_audio_is_refused(library: Library, media: Media, talk: VideoInfo) -> None:
    silent = await library.backend.upload(library.collection_id, UploadSource(path=media.silent), name="Silent")
    try:
        message = await refused(library, NoAudioTrack, lambda: library.backend.index_spoken_words(
            library.collection_id, silent.id))
        assert "'Silent' has no audio track" in message
        assert not (await library.backend.get_video(library.collection_id, silent.id)).indexed
        with pytest.raises(NotIndexed):
            await library.backend.search_spoken(library.collection_id, "hello", silent.id)
        with pytest.raises(NotIndexed):
            await library.backend.transcript(library.collection_id, silent.id)
    finally:
        await library.backend.delete_video(library.collection_id, silent.id)


def _every_call(backend: Any, collection: str, video_id: str) -> list[Callable[[], Awaitable[Any]]]:
    return [
        lambda: backend.get_video(collection, video_id),
        lambda: backend.delete_video(collection, video_id),
        lambda: backend.index_spoken_words(collection, video_id),
        lambda: backend.transcript(collection, video_id),
        lambda: backend.search_spoken(collection, "revenue", video_id),
        lambda: backend.stream(collection, video_id),
        lambda: backend.stream(collection, video_id, [(0.0, 1.0)]),
        lambda: backend.compile(collection, [ShotRef(video_id=video_id, start=0.0, end=1.0)]),
        lambda: backend.frame(collection, video_id, 1.0),
    ]


@pytest.mark.parametrize("video_id", ["nope", "0" * 32, "../../etc/passwd"])
async def test_unknown_videos_are_refused_everywhere(library: Library, talk: VideoInfo, video_id: str) -> None:
    for call in _every_call(library.backend, library.collection_id, video_id):
        message = await refused(library, UnknownVideo, call)
        assert "can't find a video" in message


async def test_another_collections_video_is_unknown(library: Library, talk: VideoInfo) -> None:
    other = await library.backend.create_collection("another channel")
    for call in _every_call(library.backend, other.id, talk.id):
        await refused(library, UnknownVideo, call)
    mixed = [ShotRef(video_id=talk.id, start=0, end=1)]
    await refused(library, UnknownVideo, lambda: library.backend.compile(other.id, mixed))
    assert await library.backend.list_videos(other.id) == []
    assert await library.backend.find_videos(other.id, "Talk") == []
    with pytest.raises(NotIndexed):  # nothing of this collection is indexed, and nothing leaks
        await library.backend.search_spoken(other.id, "revenue")


@pytest.mark.parametrize("ranges", [[(0.0, 999.0)], [(5.0, 2.0)], [(-1.0, 2.0)], [(1.0, 1.0)],
                                    [(1.0, 2.0), (30.0, 31.0)], []])
async def test_ranges_outside_the_video_are_refused(library: Library, talk: VideoInfo,
                                                    ranges: list[tuple[float, float]]) -> None:
    message = await refused(library, InvalidRange, lambda: library.backend.stream(
        library.collection_id, talk.id, ranges))
    if ranges:
        assert f"({talk.length:.1f} s) long" in message


async def test_compile_and_frame_check_ranges_too(library: Library, talk: VideoInfo) -> None:
    shots = [ShotRef(video_id=talk.id, start=1.0, end=2.0), ShotRef(video_id=talk.id, start=10.0, end=99.0)]
    message = await refused(library, InvalidRange, lambda: library.backend.compile(library.collection_id, shots))
    assert "outside the video" in message
    await refused(library, InvalidRange, lambda: library.backend.compile(library.collection_id, []))
    await refused(library, InvalidRange, lambda: library.backend.frame(library.collection_id, talk.id, 999.0))


async def test_messages_name_files_as_given_never_by_a_path_on_disk(
    library: Library, media: Media, talk: VideoInfo, tmp_path: Any
) -> None:
    """Uploads staged under our data directory are named by the person's file name."""
    staged = tmp_path / "incoming" / "turn" / "uploads" / "3f2a-fake.mp4"
    staged.parent.mkdir(parents=True)
    staged.write_text("not a video")
    cases = {
        "unreadable": UploadSource(path=staged, filename="fake.mp4"),
        "missing": UploadSource(path=staged.with_name("gone.mp4"), filename="gone.mp4"),
        "path only": UploadSource(path=staged),
    }
    messages = {}
    for case, source in cases.items():
        with pytest.raises(NotAVideo) as caught:
            await library.backend.upload(library.collection_id, source)
        messages[case] = caught.value.user_message
    assert messages["unreadable"] == "fake.mp4 isn't a video or audio file I can read."
    assert messages["missing"] == "I can't find gone.mp4."
    assert messages["path only"] == "3f2a-fake.mp4 isn't a video or audio file I can read."
    assert not any(str(tmp_path) in message or "/" in message for message in messages.values())


async def test_a_missing_ffmpeg_or_whisper_model_is_said_without_paths(
    library: Library, media: Media, talk: VideoInfo, tmp_path: Any
) -> None:
    from core.errors import BackendError

    missing = tmp_path / "opt" / "bin" / "ffmpeg"
    backend = library.with_limits(ffmpeg_binary=str(missing))
    with pytest.raises(BackendError) as caught:
        await backend.start()
    assert caught.value.user_message == "ffmpeg is not available on this machine (the bot's log says why)."
    empty_model = tmp_path / "models" / "whisper-small"
    empty_model.mkdir(parents=True)
    backend = library.with_limits(whisper_model=str(empty_model))
    with pytest.raises(BackendError) as caught:
        await backend.index_spoken_words(library.collection_id, talk.id)
    assert caught.value.user_message.startswith("Could not load the Whisper model 'whisper-small' (WHISPER_MODEL)")
    assert str(tmp_path) not in caught.value.user_message
