"""Spoken words: indexing, the legacy search route, and index-then-retry."""

from __future__ import annotations

import pytest

from core.errors import NotIndexed
from core.video.videodb import VideoDBBackend
from tests.core.video.videodb.helpers import TRANSCRIPT, ProgressLog
from tests.fakes.videodb_server import VideoDBEmulator


async def test_index_reports_progress_and_tolerates_reindex(backend: VideoDBBackend,
                                                            emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "talk", transcript=TRANSCRIPT)
    progress = ProgressLog()
    await backend.index_spoken_words("default", vid, progress)

    assert vid in emulator.indexed
    [request] = emulator.requests_to("POST", rf"video/{vid}/index")
    assert request.body["index_type"] == "spoken_word"
    assert progress.messages[0] == "indexing spoken words…" and progress.events[-1] == ("spoken words indexed", 1.0)
    assert any(0 < f < 1 for f in progress.fractions)

    await backend.index_spoken_words("default", vid)  # "already exists" is fine


async def test_collection_search_uses_the_legacy_spoken_word_route(backend: VideoDBBackend,
                                                                    emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "review", transcript=TRANSCRIPT, indexed=True)
    shots = await backend.search_spoken("default", "rocket launch", limit=5)

    assert [(s.video_id, s.start, s.end) for s in shots][0] == (vid, 4.0, 9.0)
    assert shots[0].video_title == "review" and "rocket" in shots[0].text
    assert [s.score for s in shots] == sorted((s.score for s in shots), reverse=True)
    [request] = emulator.requests_to("POST", r"collection/default/search")
    assert request.body["search_type"] == "semantic" and request.body["index_type"] == "spoken_word"
    assert request.body["result_threshold"] == 5
    assert not [r for r in emulator.requests if r.path.endswith("search/v2")]


async def test_collection_search_with_nothing_indexed_says_so(backend: VideoDBBackend,
                                                              emulator: VideoDBEmulator) -> None:
    emulator.add_video("default", "raw", transcript=TRANSCRIPT)
    with pytest.raises(NotIndexed, match="index"):
        await backend.search_spoken("default", "rocket")


async def test_video_search_indexes_then_retries(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "raw", transcript=TRANSCRIPT)
    shots = await backend.search_spoken("default", "budget", video_id=vid)

    assert shots and shots[0].start == 9.0
    searches = emulator.requests_to("POST", rf"video/{vid}/search")
    assert len(searches) == 2 and all(r.body["index_type"] == "spoken_word" for r in searches)
    assert len(emulator.requests_to("POST", rf"video/{vid}/index")) == 1
    assert not [r for r in emulator.requests if r.path.endswith("search/v2")]


async def test_transcript_indexes_then_retries(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "raw", transcript=TRANSCRIPT)
    segments = await backend.transcript("default", vid)

    assert [s.text for s in segments] == [t for _, _, t in TRANSCRIPT]
    assert vid in emulator.indexed
    fetches = emulator.requests_to("GET", rf"video/{vid}/transcription")
    assert len(fetches) == 2 and fetches[-1].query["segmenter"] == "sentence"


async def test_transcript_window(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "talk", transcript=TRANSCRIPT, indexed=True)
    segments = await backend.transcript("default", vid, start=5, end=10)
    assert [s.start for s in segments] == [4.0, 9.0]


async def test_transcript_window_must_be_ordered(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    from core.errors import InvalidRange

    vid = emulator.add_video("default", "talk", transcript=TRANSCRIPT, indexed=True)
    with pytest.raises(InvalidRange):
        await backend.transcript("default", vid, start=10, end=5)
