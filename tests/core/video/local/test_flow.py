"""The happy path: upload a generated talk, index it, search it, cut it, and play it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from html import escape
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from core.video.backend import ShotRef, UploadSource, VideoInfo
from core.video.local.ffmpeg import probe_sync
from tests.core.video.local.conftest import Library, Media

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.media]
TOLERANCE_S = 0.5
DURATION_TOLERANCE_S = 0.3


@dataclass
class Uploaded:
    talk: VideoInfo
    other: VideoInfo
    silent: VideoInfo
    index_progress: list[tuple[str, float | None]]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def uploaded(library: Library, media: Media) -> Uploaded:
    backend, collection = library.backend, library.collection_id
    talk = await backend.upload(collection, UploadSource(path=media.talk), name="Quarterly review")
    other = await backend.upload(collection, UploadSource(data=media.other.read_bytes(), filename="pasta.mp4"))
    silent = await backend.upload(collection, UploadSource(path=media.silent))
    progress: list[tuple[str, float | None]] = []
    await backend.index_spoken_words(collection, talk.id, lambda message, fraction: progress.append((message, fraction)))
    await backend.index_spoken_words(collection, other.id)
    return Uploaded(talk, other, silent, progress)


async def test_upload_records_the_video_with_links(library: Library, media: Media, uploaded: Uploaded) -> None:
    talk = await library.backend.get_video(library.collection_id, uploaded.talk.id)
    assert talk.name == "Quarterly review" and talk.indexed
    assert talk.length == pytest.approx(probe_sync(media.talk).duration, abs=0.05)
    assert talk.stream_url and talk.stream_url.startswith(library.base_url + "/media/")
    assert (talk.player_url or "").startswith(f"{library.base_url}/watch/{talk.id}?exp=")  # signed
    assert talk.thumbnail_url and talk.thumbnail_url.split("?")[0].endswith(".jpg")
    assert uploaded.other.name == "pasta"
    listed = await library.backend.list_videos(library.collection_id)
    assert [video.id for video in listed] == [uploaded.silent.id, uploaded.other.id, uploaded.talk.id]
    assert await library.backend.count_videos(library.collection_id) == 3
    found = await library.backend.find_videos(library.collection_id, "QUARTERLY")
    assert [video.id for video in found] == [uploaded.talk.id]


async def test_indexing_reports_progress_to_the_end(uploaded: Uploaded) -> None:
    fractions = [fraction for message, fraction in uploaded.index_progress if message == "Transcribing"]
    assert fractions and fractions == sorted(fractions)
    assert uploaded.index_progress[-1] == ("Indexed", 1.0)


async def test_transcript_has_the_spoken_words(library: Library, uploaded: Uploaded) -> None:
    segments = await library.backend.transcript(library.collection_id, uploaded.talk.id)
    spoken = " ".join(segment.text for segment in segments).lower()
    for words in ("welcome", "quarterly product review", "40%", "mobile app", "thank you all for coming"):
        assert words in spoken
    later = await library.backend.transcript(library.collection_id, uploaded.talk.id, start=11.0)
    assert later and all(segment.end > 11.0 for segment in later)


@pytest.mark.parametrize("sentence", [2, 3])
async def test_searching_a_spoken_sentence_finds_where_it_is_said(
    library: Library, media: Media, uploaded: Uploaded, sentence: int
) -> None:
    said = media.timeline[sentence]
    shots = await library.backend.search_spoken(library.collection_id, said.text)
    best = shots[0]
    assert best.video_id == uploaded.talk.id and best.video_title == "Quarterly review"
    assert abs(best.start - said.start) <= TOLERANCE_S, (best, said)
    assert abs(best.end - said.end) <= TOLERANCE_S, (best, said)


async def test_a_phrase_hit_spans_the_words_not_the_segment(
    library: Library, media: Media, uploaded: Uploaded
) -> None:
    said = media.timeline[2]  # "... the mobile app now has two million users."
    shots = await library.backend.search_spoken(library.collection_id, "two million users", uploaded.talk.id)
    best = shots[0]
    assert said.start - TOLERANCE_S <= best.start and best.end <= said.end + TOLERANCE_S
    assert best.end - best.start < (said.end - said.start) / 2  # three words, not the sentence
    assert abs(best.end - said.end) <= TOLERANCE_S  # "users" ends the sentence


async def test_numbers_in_words_match_whisper_digits(library: Library, media: Media, uploaded: Uploaded) -> None:
    said = media.timeline[1]
    shots = await library.backend.search_spoken(library.collection_id, "Forty percent!")
    assert shots[0].video_id == uploaded.talk.id
    assert said.start - TOLERANCE_S <= shots[0].start < shots[0].end <= said.end + TOLERANCE_S


async def test_search_ranks_the_right_video_and_scopes_to_one(library: Library, uploaded: Uploaded) -> None:
    shots = await library.backend.search_spoken(library.collection_id, "fresh tomatoes")
    assert shots[0].video_id == uploaded.other.id
    assert await library.backend.search_spoken(library.collection_id, "fresh tomatoes", uploaded.talk.id) == []
    assert await library.backend.search_spoken(library.collection_id, "zebra crossing") == []


async def test_clip_is_frame_accurate_and_reports_real_bounds(library: Library, uploaded: Uploaded) -> None:
    progress: list[float | None] = []
    link = await library.backend.stream(library.collection_id, uploaded.talk.id, [(1.25, 4.75)],
                                        lambda _message, fraction: progress.append(fraction))
    assert link.local_path is not None
    probed = probe_sync(Path(link.local_path))
    assert probed.duration == pytest.approx(3.5, abs=DURATION_TOLERANCE_S)
    assert (probed.video_codec, probed.has_audio) == ("h264", True)
    assert link.duration == pytest.approx(probed.duration, abs=0.01)
    assert link.start == 1.25 and link.end == pytest.approx(1.25 + probed.duration, abs=0.01)
    assert link.size_bytes and link.stream_url.startswith(library.base_url + "/media/")
    assert (link.player_url or "").startswith(f"{library.base_url}/watch/{link.id}?exp=")  # signed
    assert progress[-1] == 1.0


async def test_several_ranges_of_one_video_join_in_order(library: Library, uploaded: Uploaded) -> None:
    link = await library.backend.stream(library.collection_id, uploaded.talk.id, [(0.5, 2.0), (9.0, 11.0)])
    probed = probe_sync(Path(link.local_path or ""))
    assert probed.duration == pytest.approx(3.5, abs=DURATION_TOLERANCE_S)
    assert (link.start, link.end) == (0.0, pytest.approx(probed.duration, abs=0.01))


async def test_compile_joins_sizes_and_fills_missing_audio(library: Library, uploaded: Uploaded) -> None:
    shots = [
        ShotRef(video_id=uploaded.talk.id, start=8.0, end=10.0),      # 320x240 with speech
        ShotRef(video_id=uploaded.other.id, start=1.0, end=3.5),      # 480x270
        ShotRef(video_id=uploaded.silent.id, start=0.5, end=2.0),     # 160x120, no audio stream
    ]
    link = await library.backend.compile(library.collection_id, shots)
    probed = probe_sync(Path(link.local_path or ""))
    assert probed.duration == pytest.approx(6.0, abs=DURATION_TOLERANCE_S)
    assert (probed.width, probed.height, probed.has_audio) == (320, 240, True)
    assert link.title == "Compilation of 3 shots"


async def test_an_identical_render_is_reused(library: Library, uploaded: Uploaded) -> None:
    first = await library.backend.stream(library.collection_id, uploaded.talk.id, [(3.0, 5.0)])
    mtime = os.stat(first.local_path or "").st_mtime_ns
    messages: list[str] = []
    again = await library.backend.stream(library.collection_id, uploaded.talk.id, [(3.0, 5.0)],
                                         lambda message, _fraction: messages.append(message))
    assert again.id == first.id and again.local_path == first.local_path
    assert os.stat(again.local_path or "").st_mtime_ns == mtime
    assert messages == ["Reusing an earlier render"]


async def test_stream_without_ranges_is_the_original(library: Library, uploaded: Uploaded) -> None:
    link = await library.backend.stream(library.collection_id, uploaded.talk.id)
    assert link.id == uploaded.talk.id and link.stream_url == uploaded.talk.stream_url
    assert link.duration == uploaded.talk.length and link.thumbnail_url == uploaded.talk.thumbnail_url


async def test_frame_is_a_served_jpeg(library: Library, uploaded: Uploaded) -> None:
    image = await library.backend.frame(library.collection_id, uploaded.talk.id, 2.5)
    async with aiohttp.ClientSession() as client, client.get(image.url) as response:
        assert response.status == 200 and response.content_type == "image/jpeg"
        assert (await response.read())[:2] == b"\xff\xd8"


async def test_media_server_serves_mp4_with_ranges(library: Library, uploaded: Uploaded) -> None:
    link = await library.backend.stream(library.collection_id, uploaded.talk.id, [(1.0, 3.0)])
    async with aiohttp.ClientSession() as client:
        async with client.get(link.stream_url) as response:
            body = await response.read()
            assert response.status == 200 and response.content_type == "video/mp4"
            assert len(body) == link.size_bytes and response.headers["Accept-Ranges"] == "bytes"
        async with client.get(link.stream_url, headers={"Range": "bytes=100-199"}) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes 100-199/{link.size_bytes}"
            assert await response.read() == body[100:200]
        async with client.get(uploaded.talk.thumbnail_url or "") as response:
            assert response.status == 200 and response.content_type == "image/jpeg"


async def test_watch_pages_unfurl_with_open_graph_tags(library: Library, uploaded: Uploaded) -> None:
    clip = await library.backend.stream(library.collection_id, uploaded.talk.id, [(1.0, 3.0)])
    async with aiohttp.ClientSession() as client:
        async with client.get(uploaded.talk.player_url or "") as response:
            page = await response.text()
            assert response.status == 200 and response.content_type == "text/html"
        assert '<meta property="og:title" content="Quarterly review">' in page
        assert '<meta property="og:type" content="video.other">' in page
        assert f'<meta property="og:video" content="{escape(uploaded.talk.stream_url or "")}">' in page
        assert f'<meta property="og:image" content="{escape(uploaded.talk.thumbnail_url or "")}">' in page
        assert f'<video controls preload="metadata" playsinline src="{escape(uploaded.talk.stream_url or "")}"' in page
        async with client.get(clip.player_url or "") as response:
            page = await response.text()
            assert response.status == 200
        assert f'<meta property="og:video" content="{escape(clip.stream_url)}">' in page
        assert "0:02.0" in page  # the duration


async def test_delete_removes_rows_and_files(library: Library, media: Media) -> None:
    backend = library.backend
    collection = (await backend.create_collection("deletions")).id  # the silent video is in the main one
    video = await backend.upload(collection, UploadSource(path=media.silent), name="to delete")
    await backend.frame(collection, video.id, 1.0)
    before = await backend.count_videos(collection)
    await backend.delete_video(collection, video.id)
    assert await backend.count_videos(collection) == before - 1
    leftovers = [path for path in library.data_dir.rglob(f"{video.id}*")]
    assert leftovers == []
    async with aiohttp.ClientSession() as client, client.get(video.player_url or "") as response:
        assert response.status == 404
