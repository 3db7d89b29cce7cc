"""`upload`: attachments (local or fetched), progress that ends, clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.agents.upload import UploadAgent
from core.messages import Attachment, CardStatus, TextCard, VideoCard
from tests.core.agents.conftest import ContextFactory, no_card_left_running

pytestmark = pytest.mark.asyncio(loop_scope="session")


class CopyingFetcher:
    """An attachment fetcher that "downloads" by copying a local video; remembers where to."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.fetched: list[Path] = []

    async def __call__(self, attachment: Attachment, dest: Path, max_bytes: int) -> Path:
        self.fetched.append(dest)
        shutil.copyfile(self.source, dest)
        return dest


async def test_upload_of_the_only_attachment_indexes_it_and_ends_with_a_video_card(
    make_ctx: ContextFactory, talk_video: Path
) -> None:
    ctx = make_ctx(attachments=[Attachment(name="quarterly review.mp4", local_path=str(talk_video))])
    seen: list[str] = []

    class Recorder:
        def on_update(self, message: object) -> None:
            seen.extend(card.status_message for card in ctx.output.cards_of(TextCard))

        async def on_publish(self, message: object) -> None:
            return None

    ctx.output.add_observer(Recorder())
    result = await UploadAgent().safe_call(ctx, {})

    assert result.succeeded, result.message
    assert "indexed" in result.message
    assert any(text.startswith("uploading") for text in seen)
    assert any(text.startswith("indexing spoken words") for text in seen)
    progress, video = ctx.output.content
    assert isinstance(progress, TextCard) and progress.status is CardStatus.success
    assert isinstance(video, VideoCard)
    assert video.video.name == "quarterly review"
    assert video.video.stream_url and video.video.player_url
    info = await ctx.session.collection.get_video(video.video.id)
    assert info.indexed


async def test_upload_fetches_an_attachment_without_a_local_copy_and_cleans_up(
    make_ctx: ContextFactory, talk_video: Path
) -> None:
    fetch = CopyingFetcher(talk_video)
    fetched = fetch.fetched
    ctx = make_ctx(attachments=[Attachment(name="talk.mp4", url="https://files.example/talk.mp4")], fetch_attachment=fetch)
    result = await UploadAgent().safe_call(ctx, {"attachment": 1, "name": "Fetched talk", "index": False})

    assert result.succeeded, result.message
    assert fetched and fetched[0].is_relative_to(ctx.work_dir)
    assert not fetched[0].exists()
    assert ctx.output.cards_of(VideoCard)[0].video.name == "Fetched talk"


async def test_a_staged_copy_gone_with_its_turn_is_fetched_again_from_its_link(
    make_ctx: ContextFactory, talk_video: Path, tmp_path: Path
) -> None:
    """A Retry of a Discord upload: the first turn deleted the staged file; the link still works."""
    fetch = CopyingFetcher(talk_video)
    fetched = fetch.fetched
    gone = Attachment(name="talk.mp4", url="https://cdn.example/talk.mp4", local_path=str(tmp_path / "gone.mp4"))
    ctx = make_ctx(attachments=[gone], fetch_attachment=fetch)
    result = await UploadAgent().safe_call(ctx, {"attachment": 1, "index": False})
    assert result.succeeded, result.message
    assert len(fetched) == 1


async def test_a_file_that_is_not_a_video_fails_with_a_clear_error_card(make_ctx: ContextFactory, tmp_path: Path) -> None:
    notes = tmp_path / "notes.mp4"
    notes.write_text("just some text, not a video")
    ctx = make_ctx(attachments=[Attachment(name="notes.mp4", local_path=str(notes))])

    result = await UploadAgent().safe_call(ctx, {})

    assert not result.succeeded
    assert "notes.mp4" in result.message
    (card,) = ctx.output.content
    assert card.status is CardStatus.error and card.status_message == result.message
    assert await ctx.session.collection.count_videos() == 0


async def test_an_oversized_attachment_is_refused_before_any_download(make_ctx: ContextFactory) -> None:
    ctx = make_ctx(attachments=[Attachment(name="huge.mp4", size=10**10, url="https://files.example/huge.mp4")])

    result = await UploadAgent().safe_call(ctx, {})

    assert not result.succeeded and "limit" in result.message
    assert no_card_left_running(ctx.output)


async def test_upload_without_url_or_attachment_says_what_is_missing(make_ctx: ContextFactory) -> None:
    result = await UploadAgent().safe_call(make_ctx(), {})
    assert not result.succeeded and "attach" in result.message


async def test_a_missing_attachment_number_is_explained(make_ctx: ContextFactory, talk_video: Path) -> None:
    ctx = make_ctx(attachments=[Attachment(name="a.mp4", local_path=str(talk_video))])
    result = await UploadAgent().safe_call(ctx, {"attachment": 2})
    assert not result.succeeded and "no attachment #2" in result.message


async def test_the_same_file_twice_offers_the_existing_video_instead_of_a_copy(
    make_ctx: ContextFactory, talk_video: Path, tmp_path: Path
) -> None:
    first = await UploadAgent().safe_call(make_ctx(attachments=[
        Attachment(name="quarterly review.mp4", local_path=str(talk_video))]), {"index": False})
    assert first.succeeded, first.message
    copy = tmp_path / "renamed copy.mp4"
    shutil.copyfile(talk_video, copy)
    ctx = make_ctx(attachments=[Attachment(name="renamed copy.mp4", local_path=str(copy))])

    again = await UploadAgent().safe_call(ctx, {"index": False})

    assert again.succeeded, again.message
    assert "renamed copy.mp4 is already in this channel as 'quarterly review'" in again.message
    assert await ctx.session.collection.count_videos() == 1
    progress, card = ctx.output.content
    assert progress.status is CardStatus.success and "already in this channel" in progress.status_message
    assert isinstance(card, VideoCard) and card.video.id == first.data["videos"][0]["id"]
    assert again.data["videos"][0]["id"] == first.data["videos"][0]["id"]


async def test_a_fetched_attachment_that_is_not_a_video_is_named_as_sent_not_by_its_path(
    make_ctx: ContextFactory,
) -> None:
    async def fetch(attachment: Attachment, dest: Path, max_bytes: int) -> Path:
        dest.write_text("not a video at all")
        return dest

    ctx = make_ctx(attachments=[Attachment(name="fake.mp4", url="https://files.example/fake.mp4")],
                   fetch_attachment=fetch)
    result = await UploadAgent().safe_call(ctx, {})

    assert not result.succeeded
    assert result.message.startswith("fake.mp4 isn't a video or audio file I can read")
    assert "/" not in result.message and "uploads" not in result.message
    assert ctx.output.content[0].status_message == result.message


async def test_an_unreadable_local_file_is_named_as_given(make_ctx: ContextFactory, tmp_path: Path) -> None:
    folder = tmp_path / "a folder.mp4"
    folder.mkdir()
    ctx = make_ctx(attachments=[Attachment(name="a folder.mp4", local_path=str(folder))])
    result = await UploadAgent().safe_call(ctx, {})
    assert not result.succeeded and result.message == "I can't find a folder.mp4."
