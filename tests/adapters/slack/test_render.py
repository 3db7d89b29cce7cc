"""Block Kit rendering and Slack's limits."""

from __future__ import annotations

import json

from adapters.slack.render import (
    CANCEL_ACTION,
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    RETRY_ACTION,
    render,
)
from core.messages import (
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


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_running_card_has_status_line_and_cancel() -> None:
    message = OutputMessage(turn_id="t-1", status=MsgStatus.progress, actions=["a", "b", "c", "d"])
    out = render(message)
    assert out.blocks[0]["text"]["text"].startswith("*⏳ Working on it… · … b · c · d")
    [cancel] = buttons(out.blocks)
    assert cancel["action_id"] == CANCEL_ACTION and cancel["value"] == "t-1"


def test_failed_card_offers_retry_and_done_card_no_buttons() -> None:
    assert buttons(render(OutputMessage(turn_id="t", status=MsgStatus.error)).blocks)[0]["action_id"] == RETRY_ACTION
    assert buttons(render(OutputMessage(turn_id="t", status=MsgStatus.success)).blocks) == []


def test_video_card_has_watch_button_and_stream_link() -> None:
    message = OutputMessage(turn_id="t", status=MsgStatus.success)
    video = VideoData(id="v1", name="Clip", player_url="https://m.test/watch/v1",
                      stream_url="https://m.test/media/v1.m3u8", start=5, end=75)
    message.add_card(VideoCard(video=video))
    out = render(message)
    [watch] = buttons(out.blocks)
    assert watch["text"]["text"] == "▶ Watch" and watch["url"] == video.player_url
    text = json.dumps(out.blocks, ensure_ascii=False)
    assert "0:05–1:15" in text and "stream link" in text
    assert video.player_url in out.text


def test_search_hits_show_timestamps() -> None:
    message = OutputMessage(status=MsgStatus.success)
    hit = SearchResultVideo(video_id="v", title="Talk", player_url="https://m.test/watch/v",
                            shots=[ShotData(start=61, end=64, text="hello")])
    message.add_card(SearchResultsCard(query="hello", results=[hit]))
    assert "`1:01–1:04` “hello”" in json.dumps(render(message).blocks, ensure_ascii=False)


def test_limits_are_enforced() -> None:
    message = OutputMessage(turn_id="t", status=MsgStatus.success)
    message.add_card(TextCard(text="x" * 7000))
    for i in range(80):
        message.add_card(VideoCard(video=VideoData(id=f"v{i}", name="n" * 300, player_url=f"https://m.test/{i}")))
    message.add_card(VideosCard(videos=[VideoData(id=f"w{i}") for i in range(30)], total=30))
    out = render(message)
    assert len(out.blocks) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= MAX_SECTION_TEXT for b in out.blocks if b["type"] == "section")
    assert "more…" in json.dumps(out.blocks, ensure_ascii=False)
    assert len(json.dumps(out.blocks, ensure_ascii=False)) < 13_000
    assert all(len(e["text"]["text"]) <= 75 for e in buttons(out.blocks))
    long_text = OutputMessage(status=MsgStatus.success)
    long_text.add_card(TextCard(text="y" * 50_000))
    assert len(render(long_text).text) <= 40_000


def test_a_long_answer_shows_its_beginning_not_only_more() -> None:
    message = OutputMessage(turn_id="t", status=MsgStatus.success)
    message.add_card(TextCard(text=("word " * 100 + "\n") * 40))  # ~20k characters
    message.add_card(VideoCard(video=VideoData(id="v", name="Later", player_url="https://m.test/v")))
    out = render(message)
    text = json.dumps(out.blocks, ensure_ascii=False)
    assert text.count("word word") > 100
    assert "cut short" in text and "1 more…" in text
    assert len(text) < 13_000 and len(out.blocks) <= MAX_BLOCKS
