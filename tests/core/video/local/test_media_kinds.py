"""What cameras and phones write: rotation flags, ProRes/PCM, HEVC, interlacing, truncation, duplicates.

Every original is kept; Watch and Stream links get a browser-playable H.264/AAC MP4 when
the original isn't one; renders are upright and checked before they are offered.
"""

from __future__ import annotations

import html

import shutil
from pathlib import Path

import aiohttp
import pytest

from core.errors import AlreadyUploaded, BackendError, NotAVideo
from core.video.backend import ShotRef, UploadSource, VideoInfo
from core.video.local import ffmpeg
from core.video.local.backend import check_render
from core.video.local.ffmpeg import MediaInfo, probe_sync
from tests.core.video.local.conftest import Library, Media
from tests.helpers.media import make_coded, with_rotation

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.media]
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac"]
FASTSTART = ["-movflags", "+faststart"]  # the index first: a cut file still says how long it was


async def _upload(library: Library, path: Path, channel: str) -> tuple[str, VideoInfo]:
    collection = (await library.backend.create_collection(channel)).id
    return collection, await library.backend.upload(collection, UploadSource(path=path))


def _stored(library: Library, url: str | None) -> Path:
    """The file a (signed) media link serves."""
    assert url and url.startswith(library.base_url + "/media/")
    return library.data_dir / "media" / url.split("?")[0].removeprefix(library.base_url + "/media/")


async def test_a_phone_video_stays_upright_at_its_real_aspect_ratio(library: Library, tmp_path: Path) -> None:
    landscape = make_coded(tmp_path / "coded.mp4", H264, AAC, size="320x180")
    phone = with_rotation(landscape, tmp_path / "phone.mp4", -90)
    collection, video = await _upload(library, phone, "phones")
    assert video.stream_url == video.download_url  # an MP4 browsers rotate themselves: served as it is

    clip = await library.backend.stream(collection, video.id, [(0.5, 2.5)])
    cut = probe_sync(Path(clip.local_path or ""), deep=True)
    assert (cut.width, cut.height, cut.rotation) == (180, 320, 0)
    compiled = await library.backend.compile(collection, [ShotRef(video_id=video.id, start=0.0, end=1.0),
                                                          ShotRef(video_id=video.id, start=2.0, end=3.0)])
    joined = probe_sync(Path(compiled.local_path or ""), deep=True)
    assert (joined.width, joined.height) == (180, 320)
    frame = probe_sync(Path((await library.backend.frame(collection, video.id, 1.0)).local_path or ""))
    assert (frame.width, frame.height) == (180, 320)
    thumbnail = probe_sync(_stored(library, video.thumbnail_url))
    assert (thumbnail.width, thumbnail.height) == (180, 320)


@pytest.mark.parametrize(("name", "video", "audio"), [
    ("prores.mov", ["-c:v", "prores_ks"], ["-c:a", "pcm_s16le"]),
    ("hevc.mkv", ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-x265-params", "log-level=none"],
     AAC),
    ("interlaced.mp4", ["-c:v", "libx264", "-flags", "+ildct+ilme", "-x264opts", "tff=1", "-pix_fmt", "yuv420p"],
     AAC),
    ("ten-bit.mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv422p"], AAC),
])
async def test_originals_browsers_cant_play_get_a_playable_copy(
    library: Library, tmp_path: Path, name: str, video: list[str], audio: list[str]
) -> None:
    source = make_coded(tmp_path / name, video, audio)
    collection, item = await _upload(library, source, name)

    original = _stored(library, item.download_url)
    playable = _stored(library, item.stream_url)
    assert original != playable and playable.name.endswith(".play.mp4")
    kept = probe_sync(original)
    assert kept.video_codec == probe_sync(source).video_codec  # the original is kept as it was
    played = probe_sync(playable, deep=True)
    assert (played.video_codec, played.audio_codec, played.pix_fmt) == ("h264", "aac", "yuv420p")
    assert not played.interlaced and ffmpeg.browser_playable(played)
    assert played.duration == pytest.approx(4.0, abs=0.1)
    async with aiohttp.ClientSession() as client:
        async with client.get(item.player_url or "") as response:
            assert f'src="{html.escape(item.stream_url)}"' in await response.text()
        async with client.get(item.stream_url or "") as response:
            assert response.status == 200 and response.content_type == "video/mp4"
    link = await library.backend.stream(collection, item.id)
    assert link.stream_url == item.stream_url and link.download_url == item.download_url
    assert Path(link.local_path or "") == playable


async def test_an_hevc_remux_is_tagged_hvc1(library: Library, tmp_path: Path) -> None:
    source = make_coded(tmp_path / "phone.mkv", ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                                                 "-x265-params", "log-level=none"], AAC)
    _collection, item = await _upload(library, source, "hevc")
    original = _stored(library, item.download_url)
    assert original.suffix == ".mp4"
    import av

    with av.open(str(original)) as container:
        assert container.streams.video[0].codec_tag == "hvc1"


async def test_browser_ready_files_are_served_as_they_are(library: Library, media: Media) -> None:
    _collection, item = await _upload(library, media.talk, "ready")
    assert item.stream_url == item.download_url and item.stream_url and item.stream_url.split("?")[0].endswith(".mp4")


async def test_a_truncated_file_is_stored_with_its_true_length_and_says_so(library: Library, tmp_path: Path) -> None:
    whole = make_coded(tmp_path / "whole.mp4", [*H264, "-g", "25", *FASTSTART], AAC, seconds=12.0)
    cut = tmp_path / "partial.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert probe_sync(cut).duration == pytest.approx(12.0, abs=0.1)  # the header still says 12 s

    collection, item = await _upload(library, cut, "partial")
    assert item.length is not None and 3.0 < item.length < 9.0
    assert item.notes and "partial.mp4 seems cut short" in item.notes[0]
    assert "its header says 0:12.0" in item.notes[0]
    with pytest.raises(Exception, match="outside the video"):
        await library.backend.stream(collection, item.id, [(item.length + 0.5, 11.0)])
    clip = await library.backend.stream(collection, item.id, [(1.0, item.length - 0.5)])
    assert probe_sync(Path(clip.local_path or ""), deep=True).has_video


async def test_a_file_with_no_readable_data_is_refused(library: Library, tmp_path: Path) -> None:
    whole = make_coded(tmp_path / "header-only.mp4", H264, AAC, seconds=6.0)
    moov_first = tmp_path / "faststart.mp4"
    await ffmpeg.run_ffmpeg(ffmpeg.locate_ffmpeg(), ["-i", str(whole), "-c", "copy", "-movflags", "+faststart",
                                                    str(moov_first)])
    data = moov_first.read_bytes()
    header = data[: data.index(b"mdat") + 8]  # the index says 6 s; not one sample follows it
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(header)
    collection = (await library.backend.create_collection("broken")).id
    with pytest.raises(NotAVideo) as caught:
        await library.backend.upload(collection, UploadSource(path=broken))
    assert caught.value.user_message.startswith("broken.mp4 ")
    assert await library.backend.count_videos(collection) == 0


async def test_the_same_bytes_twice_are_refused_with_the_existing_video(library: Library, media: Media,
                                                                         tmp_path: Path) -> None:
    collection, first = await _upload(library, media.other, "dupes")
    copy = tmp_path / "copy of other.mp4"
    shutil.copyfile(media.other, copy)
    with pytest.raises(AlreadyUploaded) as caught:
        await library.backend.upload(collection, UploadSource(path=copy), name="again")
    assert caught.value.video.id == first.id  # type: ignore[attr-defined]
    assert "copy of other.mp4 is already in this channel as 'other'" in caught.value.user_message
    assert await library.backend.count_videos(collection) == 1
    elsewhere = (await library.backend.create_collection("another")).id  # other channels are not affected
    assert (await library.backend.upload(elsewhere, UploadSource(path=copy))).id != first.id


async def test_a_render_that_comes_out_short_is_not_offered(library: Library, tmp_path: Path) -> None:
    source = make_coded(tmp_path / "fine.mp4", [*H264, "-g", "25", *FASTSTART], AAC, seconds=8.0)
    collection, item = await _upload(library, source, "damaged later")
    stored = _stored(library, item.download_url)
    data = stored.read_bytes()
    stored.write_bytes(data[: len(data) // 3])  # the disk copy is damaged after the upload
    with pytest.raises(BackendError) as caught:
        await library.backend.stream(collection, item.id, [(1.0, 7.5)])
    assert "came out" in caught.value.user_message and "instead of 0:06.5" in caught.value.user_message
    assert not list((library.data_dir / "media" / collection / "streams").glob("*.mp4"))


async def test_the_render_check_wants_both_streams_and_the_length_asked() -> None:
    good = MediaInfo(duration=5.0, format_name="mp4", has_video=True, has_audio=True, video_end=5.0,
                     audio_end=5.02)
    check_render(good, 5.0, 25.0, [object()])  # type: ignore[list-item]
    with pytest.raises(BackendError, match="without sound"):
        check_render(MediaInfo(duration=5.0, format_name="mp4", has_video=True, has_audio=False, video_end=5.0),
                     5.0, 25.0, [object()])  # type: ignore[list-item]
    with pytest.raises(BackendError, match=r"picture came out 0:03.0 long instead of 0:05.0"):
        check_render(MediaInfo(duration=5.0, format_name="mp4", has_video=True, has_audio=True, video_end=3.0,
                               audio_end=5.0), 5.0, 25.0, [object()])  # type: ignore[list-item]
    with pytest.raises(BackendError, match="compilation"):
        check_render(MediaInfo(duration=5.0, format_name="mp4", has_video=True, has_audio=True, video_end=5.0,
                               audio_end=5.2), 5.0, 25.0, [object(), object()])  # type: ignore[list-item]
