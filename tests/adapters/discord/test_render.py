"""The renderer keeps every message inside Discord's limits; overflow becomes "N more…"."""

from __future__ import annotations

from adapters.discord.render import (
    MAX_EMBED_TOTAL,
    MAX_EMBEDS,
    custom_id,
    embed_size,
    render,
)
from core.messages import (
    CardStatus,
    MsgStatus,
    OutputMessage,
    SearchResultsCard,
    SearchResultVideo,
    ShotData,
    TextCard,
    VideoCard,
    VideoData,
    VideosCard,
)
from tests.fakes.discord_server import message_limit_errors


def payload(message: OutputMessage) -> dict:
    rendered = render(message)
    rows = [{"type": 1, "components": [
        {"type": 2, "label": b.label, "url": b.url, "custom_id": b.custom_id,
         "style": 5 if b.url else 1} for b in row]} for row in rendered.rows]
    return {"content": rendered.content, "embeds": rendered.embeds, "components": rows}


def video(i: int, **extra: object) -> VideoData:
    return VideoData(id=f"v{i}", name=f"video {i}", player_url=f"https://media.example/watch/v{i}",
                     download_url=f"https://media.example/media/v{i}.mp4", **extra)


def test_running_job_has_a_cancel_button_keyed_by_turn() -> None:
    message = OutputMessage(turn_id="abc123", status=MsgStatus.progress, actions=["searching"])
    rendered = render(message)
    assert rendered.content.startswith("⏳")
    [[cancel]] = rendered.rows
    assert cancel.custom_id == custom_id("cancel", "abc123") == "director:cancel:abc123"


def test_failed_and_interrupted_jobs_offer_retry() -> None:
    for status in (MsgStatus.error, MsgStatus.interrupted, MsgStatus.cancelled):
        [[retry]] = render(OutputMessage(turn_id="t1", status=status)).rows
        assert retry.custom_id == "director:retry:t1"
    assert render(OutputMessage(turn_id="t1", status=MsgStatus.success)).rows == []


def test_video_card_has_watch_and_mp4_link_buttons_and_a_thumbnail() -> None:
    message = OutputMessage(turn_id="t", status=MsgStatus.success,
                            content=[VideoCard(video=video(1, thumbnail_url="https://media.example/t.jpg",
                                                           start=5, end=75.4))])
    rendered = render(message)
    [[watch, mp4]] = rendered.rows
    assert (watch.label, watch.url) == ("▶ Watch", "https://media.example/watch/v1")
    assert (mp4.label, mp4.url) == ("⬇ MP4", "https://media.example/media/v1.mp4")
    [embed] = rendered.embeds[-1:]
    assert embed["thumbnail"]["url"] == "https://media.example/t.jpg"
    assert "0:05–1:16" in embed["description"]


def test_search_hits_become_fields_with_timestamps() -> None:
    card = SearchResultsCard(query="pricing", results=[SearchResultVideo(
        video_id="v1", title="Review", player_url="https://m.example/w",
        shots=[ShotData(start=62, end=65.5, text="the new pricing model")])])
    [embed] = render(OutputMessage(status=MsgStatus.success, content=[card])).embeds
    [field] = embed["fields"]
    assert field["name"] == "Review" and "`1:02–1:06` “the new pricing model”" in field["value"]


def test_huge_output_stays_within_every_limit() -> None:
    results = [SearchResultVideo(video_id=f"v{i}", title="t" * 300,
                                 shots=[ShotData(start=s, end=s + 1, text="w" * 400) for s in range(9)])
               for i in range(40)]
    cards = [TextCard(text="x" * 9000), SearchResultsCard(query="q" * 300, results=results)]
    cards += [VideoCard(video=video(i)) for i in range(30)]
    cards += [VideosCard(videos=[video(i) for i in range(100)], total=250)]
    message = OutputMessage(turn_id="t" * 32, status=MsgStatus.progress, actions=["a" * 3000], content=cards)
    body = payload(message)
    assert message_limit_errors(body) == []
    assert len(body["embeds"]) <= MAX_EMBEDS
    assert sum(embed_size(e) for e in body["embeds"]) <= MAX_EMBED_TOTAL
    assert "more…" in body["embeds"][-1]["description"]
    rows = render(message).rows
    assert len(rows) == 5 and rows[-1][0].label == "Cancel"
    assert rows[-2][-1].label.endswith("more…") and rows[-2][-1].disabled


def test_many_fields_are_cut_to_25_with_a_note() -> None:
    results = [SearchResultVideo(video_id=f"v{i}", title=f"video {i}", shots=[ShotData(start=1, end=2)])
               for i in range(60)]
    [embed] = render(OutputMessage(status=MsgStatus.success,
                                   content=[SearchResultsCard(query="q", results=results)])).embeds
    assert len(embed["fields"]) == 25 and embed["fields"][-1]["value"] == "36 more…"


def test_error_cards_and_progress_cards_are_shown() -> None:
    message = OutputMessage(status=MsgStatus.progress, content=[
        TextCard(agent_name="upload", status=CardStatus.progress, status_message="indexing spoken words…"),
        TextCard(agent_name="clip", status=CardStatus.error, status_message="No such video.")])
    embeds = render(message).embeds
    assert "upload: indexing spoken words…" in embeds[0]["description"]
    assert embeds[1]["description"] == "⚠️ No such video."


def test_unchanged_output_renders_equal() -> None:
    message = OutputMessage(turn_id="t", status=MsgStatus.progress, content=[VideoCard(video=video(1))])
    assert render(message) == render(message.model_copy(deep=True))
