"""Search finds what was said; clip and compile reuse the remembered hits."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.agents.base import AgentContext
from core.agents.clip import ClipAgent
from core.agents.compile import CompileAgent
from core.agents.hits import LAST_HITS_KEY, playable_range
from core.agents.search import SearchAgent
from core.agents.upload import UploadAgent
from core.messages import Attachment, SearchResultsCard, TextCard, VideoCard
from tests.core.agents.conftest import ContextFactory, Talks, no_card_left_running

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def upload(ctx: AgentContext, path: Path, index: bool = True) -> str:
    ctx.attachments = [Attachment(name=path.name, local_path=str(path))]
    result = await UploadAgent().safe_call(ctx, {"index": index})
    assert result.succeeded, result.message
    return str(result.data["videos"][0]["id"])


async def test_search_finds_the_phrase_and_adds_results_and_a_compiled_stream(
    talks_ctx: ContextFactory, talks: Talks
) -> None:
    ctx = talks_ctx()
    result = await SearchAgent().safe_call(ctx, {"query": "pricing model"})

    assert result.succeeded, result.message
    (results,) = ctx.output.cards_of(SearchResultsCard)
    assert {r.video_id for r in results.results} == {talks.review_id, talks.meeting_id}
    for entry in results.results:
        assert entry.title and entry.stream_url and entry.player_url
        assert any("pricing" in shot.text.lower() and shot.end > shot.start for shot in entry.shots)
    (stream,) = ctx.output.cards_of(VideoCard)
    assert stream.video.stream_url and stream.video.player_url
    assert stream.video.player_url in result.message
    hits = ctx.session.memory[LAST_HITS_KEY]
    assert isinstance(hits, list) and len(hits) == 2
    assert set(hits[0]) == {"video_id", "title", "start", "end", "text"}
    assert "1. " in result.message and "2. " in result.message
    assert no_card_left_running(ctx.output)


async def test_search_indexes_unindexed_videos_first(make_ctx: ContextFactory, talk_video: Path) -> None:
    ctx = make_ctx()
    await upload(ctx, talk_video, index=False)

    result = await SearchAgent().safe_call(ctx, {"query": "product roadmap"})

    assert result.succeeded, result.message
    indexing = [c for c in ctx.output.cards_of(TextCard) if "Indexed the spoken words" in c.status_message]
    assert indexing and ctx.output.cards_of(SearchResultsCard)


async def test_no_hits_is_a_plain_success_that_says_so(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    result = await SearchAgent().safe_call(ctx, {"query": "zebra xylophone"})

    assert result.succeeded
    assert result.message.startswith("No matches for 'zebra xylophone'")
    assert ctx.session.memory[LAST_HITS_KEY] == []
    assert not ctx.output.cards_of(VideoCard)


async def test_clip_with_hit_two_cuts_the_second_remembered_hit(talks_ctx: ContextFactory, talks: Talks) -> None:
    await SearchAgent().safe_call(talks_ctx(), {"query": "pricing model"})
    ctx = talks_ctx()
    second = ctx.session.memory[LAST_HITS_KEY][1]  # type: ignore[index]

    result = await ClipAgent().safe_call(ctx, {"hit": 2})

    assert result.succeeded, result.message
    (card,) = ctx.output.cards_of(VideoCard)
    assert card.video.stream_url and card.video.player_url and card.video.download_url
    assert result.data["video_id"] == second["video_id"]
    # The hit's words are played with context around them (see core.agents.hits.playable_range).
    source = await ctx.session.collection.get_video(second["video_id"])
    start, end = playable_range(second["start"], second["end"], source.length)
    assert card.video.start == pytest.approx(start, abs=0.2)
    assert card.video.end == pytest.approx(end, abs=0.3)
    assert card.video.start <= second["start"] and card.video.end >= second["end"]


async def test_clip_of_a_hit_that_does_not_exist_says_how_many_there_are(
    talks_ctx: ContextFactory, talks: Talks
) -> None:
    await SearchAgent().safe_call(talks_ctx(), {"query": "pricing model"})
    result = await ClipAgent().safe_call(talks_ctx(), {"hit": 7})
    assert not result.succeeded and "2 hit(s)" in result.message


async def test_clip_by_title_and_range(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    result = await ClipAgent().safe_call(ctx, {"video": "quarterly", "start": 1, "end": 3})

    assert result.succeeded, result.message
    (card,) = ctx.output.cards_of(VideoCard)
    assert card.video.start == pytest.approx(1, abs=0.1) and card.video.end == pytest.approx(3, abs=0.2)


async def test_compile_of_hits_makes_one_stream_across_videos(talks_ctx: ContextFactory, talks: Talks) -> None:
    await SearchAgent().safe_call(talks_ctx(), {"query": "pricing model"})
    ctx = talks_ctx()

    result = await CompileAgent().safe_call(ctx, {"hits": [2, 1]})

    assert result.succeeded, result.message
    (card,) = ctx.output.cards_of(VideoCard)
    assert card.video.stream_url and card.video.player_url
    assert "2 range(s)" in result.message and card.video.player_url in result.message
    assert no_card_left_running(ctx.output)


async def test_compile_of_ranges_resolves_titles(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    ranges = [{"video": "team meeting", "start": 0, "end": 1.5}, {"video": "quarterly review", "start": 1, "end": 2}]

    result = await CompileAgent().safe_call(ctx, {"ranges": ranges})

    assert result.succeeded, result.message
    assert ctx.output.cards_of(VideoCard)[0].video.length == pytest.approx(2.5, abs=0.4)


async def test_compile_needs_exactly_one_source(make_ctx: ContextFactory) -> None:
    result = await CompileAgent().safe_call(make_ctx(), {"query": "x", "hits": [1]})
    assert not result.succeeded and "exactly one of query, hits or ranges" in result.message


# forgiving a model's small mistakes ------------------------------------------------------------


async def test_clip_past_the_end_stops_at_the_end_and_says_so(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    length = (await ctx.session.collection.get_video(talks.review_id)).length
    assert length is not None

    result = await ClipAgent().safe_call(ctx, {"video": "quarterly", "start": length - 2, "end": length + 30})

    assert result.succeeded, result.message
    (card,) = ctx.output.cards_of(VideoCard)
    assert card.video.end == pytest.approx(length, abs=0.2)
    assert "the video ends at" in result.message
    assert any("the video ends at" in c.status_message for c in ctx.output.cards_of(TextCard))


async def test_a_clip_starting_past_the_end_is_still_refused(talks_ctx: ContextFactory, talks: Talks) -> None:
    result = await ClipAgent().safe_call(talks_ctx(), {"video": "quarterly", "start": 500, "end": 530})
    assert not result.succeeded and "outside the video" in result.message


async def test_compile_ranges_past_the_end_are_cut_at_the_end(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    meeting = await ctx.session.collection.get_video(talks.meeting_id)
    assert meeting.length is not None
    ranges = [{"video": "team meeting", "start": meeting.length - 1.5, "end": meeting.length + 60},
              {"video": "quarterly review", "start": 1, "end": 2}]

    result = await CompileAgent().safe_call(ctx, {"ranges": ranges})

    assert result.succeeded, result.message
    assert "'team meeting' (the video ends at" in result.message
    assert ctx.output.cards_of(VideoCard)[0].video.length == pytest.approx(2.5, abs=0.4)


async def test_times_of_a_hit_instead_of_its_number_clip_that_hit(talks_ctx: ContextFactory, talks: Talks) -> None:
    await SearchAgent().safe_call(talks_ctx(), {"query": "pricing model"})
    ctx = talks_ctx()
    second = ctx.session.memory[LAST_HITS_KEY][1]  # type: ignore[index]

    # No video, just the hit's own (word) times, as a small model writes "clip that".
    result = await ClipAgent().safe_call(ctx, {"start": second["start"], "end": second["end"]})

    assert result.succeeded, result.message
    assert result.data["video_id"] == second["video_id"]
    source = await ctx.session.collection.get_video(second["video_id"])
    start, end = playable_range(second["start"], second["end"], source.length)
    (card,) = ctx.output.cards_of(VideoCard)
    assert card.video.start == pytest.approx(start, abs=0.2) and card.video.end == pytest.approx(end, abs=0.3)
    # "it" now means that video, and the hit numbers still work.
    again = await ClipAgent().safe_call(talks_ctx(), {"video": "it", "start": 0, "end": 1})
    first = await ClipAgent().safe_call(talks_ctx(), {"hit": 1})
    assert again.data["video_id"] == second["video_id"]
    assert first.succeeded and first.data["video_id"] == ctx.session.memory[LAST_HITS_KEY][0]["video_id"]  # type: ignore[index]


async def test_after_a_search_that_video_is_the_first_hits(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    await ClipAgent().safe_call(ctx, {"video": "team meeting", "start": 0, "end": 1})  # "it" = the meeting
    await SearchAgent().safe_call(ctx, {"query": "product roadmap"})  # said in the quarterly review only

    result = await ClipAgent().safe_call(talks_ctx(), {"video": "that video", "start": 0, "end": 1})

    assert result.data["video_id"] == talks.review_id
