"""What an agent may not reach or do: other channels' videos, missing capabilities, unknown names."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.agents.registry import agent_map
from core.agents.upload import UploadAgent
from core.messages import Attachment, ImageCard, VideosCard
from core.video.local.backend import LocalBackend
from tests.core.agents.conftest import ContextFactory, Talks, context, new_session
from tests.helpers.media import make_silent_video

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def foreign_video_id(backend: LocalBackend, talk_video: Path, tmp_path: Path) -> str:
    """A video in another channel's collection."""
    other = (await backend.create_collection("another channel")).id
    ctx = context(new_session(backend, other), attachments=[Attachment(name="secret plans.mp4", local_path=str(talk_video))],
                  work_dir=tmp_path)
    result = await UploadAgent().safe_call(ctx, {"index": False})
    assert result.succeeded, result.message
    return str(result.data["videos"][0]["id"])


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("stream_video", {}),
        ("clip", {"start": 0, "end": 1}),
        ("transcript", {}),
        ("frame", {"at": 1}),
        ("index", {}),
        ("summarize", {}),
    ],
)
async def test_a_video_of_another_collection_is_unreachable_even_by_id(
    talks_ctx: ContextFactory, talks: Talks, foreign_video_id: str, name: str, arguments: dict[str, object]
) -> None:
    ctx = talks_ctx()
    result = await agent_map()[name].safe_call(ctx, {"video": foreign_video_id, **arguments})

    assert not result.succeeded
    assert f"can't find a video called {foreign_video_id!r}" in result.message
    assert "secret plans" not in result.message
    assert not ctx.output.content


async def test_compile_ranges_cannot_reach_another_collection(
    talks_ctx: ContextFactory, talks: Talks, foreign_video_id: str
) -> None:
    result = await agent_map()["compile"].safe_call(
        talks_ctx(), {"ranges": [{"video": foreign_video_id, "start": 0, "end": 1}]}
    )
    assert not result.succeeded and "can't find" in result.message


async def test_an_unknown_video_lists_close_titles(talks_ctx: ContextFactory, talks: Talks) -> None:
    result = await agent_map()["transcript"].safe_call(talks_ctx(), {"video": "quartrly reveiw"})

    assert not result.succeeded
    assert "can't find a video called 'quartrly reveiw'" in result.message
    assert f"Close titles: 'quarterly review' (id {talks.review_id})" in result.message


async def test_videos_are_named_by_id_title_part_latest_and_it(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    stream = agent_map()["stream_video"]

    latest = await stream.safe_call(ctx, {"video": "the latest"})
    by_part = await stream.safe_call(ctx, {"video": "Review"})
    again = await stream.safe_call(ctx, {"video": "it"})
    ambiguous = await stream.safe_call(ctx, {"video": "e"})

    assert latest.data["video_id"] == talks.meeting_id
    assert by_part.data["video_id"] == talks.review_id
    assert again.data["video_id"] == talks.review_id
    assert not ambiguous.succeeded and "Several videos match 'e'" in ambiguous.message


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("scene_index", {"video": "latest"}),
        ("visual_search", {"query": "a whiteboard"}),
        ("subtitles", {"video": "latest"}),
        ("dub", {"video": "latest", "language_code": "es"}),
        ("generate_image", {"prompt": "a cat"}),
        ("generate_voice", {"text": "hello"}),
        ("generate_music", {"prompt": "calm piano"}),
        ("generate_video", {"prompt": "a sunrise"}),
    ],
)
async def test_videodb_only_tools_say_plainly_that_the_local_backend_cannot(
    talks_ctx: ContextFactory, talks: Talks, name: str, arguments: dict[str, object]
) -> None:
    ctx = talks_ctx()
    result = await agent_map()[name].safe_call(ctx, arguments)

    assert not result.succeeded
    assert result.message.startswith("The local video backend can't do ")
    assert "VIDEO_DB_API_KEY" in result.message
    assert not ctx.output.content


async def test_videos_and_find_videos_list_the_channel(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    listed = await agent_map()["videos"].safe_call(ctx, {"limit": 1})
    found = await agent_map()["find_videos"].safe_call(ctx, {"query": "meeting"})
    none = await agent_map()["find_videos"].safe_call(ctx, {"query": "giraffe"})

    assert listed.succeeded and listed.data["total"] == 2 and "showing the 1 most recent" in listed.message
    first, second = ctx.output.cards_of(VideosCard)
    assert first.total == 2 and [v.id for v in first.videos] == [talks.meeting_id]
    assert [v.id for v in second.videos] == [talks.meeting_id]
    assert found.succeeded and talks.meeting_id in found.message
    assert none.succeeded and "No video titles match 'giraffe'" in none.message


async def test_frame_is_an_image_card_and_refuses_a_moment_past_the_end(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    ok = await agent_map()["frame"].safe_call(ctx, {"video": talks.review_id, "at": 1.5})
    late = await agent_map()["frame"].safe_call(ctx, {"video": talks.review_id, "at": 999})

    assert ok.succeeded, ok.message
    (card,) = ctx.output.cards_of(ImageCard)
    assert card.url == ok.data["url"] and card.url.split("?")[0].endswith(".jpg")  # signed link
    assert not late.succeeded and "long" in late.message


async def test_a_silent_upload_stands_and_says_why_it_is_not_indexed(make_ctx: ContextFactory, tmp_path: Path) -> None:
    silent = make_silent_video(tmp_path / "silent.mp4", seconds=1.5, size="160x120")
    ctx = make_ctx(attachments=[Attachment(name="silent.mp4", local_path=str(silent))])

    result = await UploadAgent().safe_call(ctx, {})

    assert result.succeeded, result.message
    assert "could not be indexed" in result.message and "no audio" in result.message
