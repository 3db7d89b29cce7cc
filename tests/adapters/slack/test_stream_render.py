"""The streamed reply's pieces: final blocks within Block Kit limits, results with ▶ Watch,
no pings from model text."""

from __future__ import annotations

from adapters.slack.render import MAX_BLOCKS
from adapters.slack.stream_render import card_with_feedback, defuse, stop_blocks, task_chunk, unsent_text
from core.messages import CardStatus, MsgStatus, OutputMessage, TextCard, VideoCard, VideoData


def message(status: MsgStatus, *cards: object) -> OutputMessage:
    out = OutputMessage(turn_id="t" * 32, status=status)
    for card in cards:
        out.add_card(card)
    return out


def test_results_are_blocks_and_the_streamed_text_is_not_repeated() -> None:
    video = VideoCard(video=VideoData(id="v1", name="Keynote", player_url="https://media.test/watch/v1"))
    blocks = stop_blocks(message(MsgStatus.success, TextCard(text="the answer"), video))
    text = str(blocks)
    assert "the answer" not in text
    assert "https://media.test/watch/v1" in text and "▶ Watch" in text
    assert blocks[-1]["type"] == "context_actions"


def test_a_failed_reply_says_so_and_offers_retry() -> None:
    blocks = stop_blocks(message(MsgStatus.error, TextCard(status=CardStatus.error, status_message="backend down")))
    assert "Failed" in str(blocks[0]) and "backend down" in str(blocks)
    assert any(b.get("block_id") == "director_controls" for b in blocks)


def test_many_results_stay_within_fifty_blocks() -> None:
    videos = [VideoCard(video=VideoData(id=f"v{i}", name=f"v{i}", player_url=f"https://m.test/{i}")) for i in range(80)]
    blocks = stop_blocks(message(MsgStatus.success, *videos))
    assert len(blocks) <= MAX_BLOCKS and blocks[-1]["type"] == "context_actions"
    assert "more…" in str(blocks)
    full = card_with_feedback(message(MsgStatus.success, *videos))
    assert len(full.blocks) <= MAX_BLOCKS


def test_model_text_never_pings() -> None:
    assert defuse("hey <!channel> and <@U123>") == "hey <\u200b!channel> and <\u200b@U123>"
    assert task_chunk("c1", "Search", "in_progress", "<!here> " + "x" * 500)["details"].startswith("<\u200b!here>")
    assert len(task_chunk("c1", "Search", "in_progress", "x" * 500)["details"]) <= 200


def test_unsent_text_is_only_what_did_not_stream() -> None:
    card = TextCard(text="Hello world")
    sent = {card.id: 6}
    assert unsent_text(message(MsgStatus.success, card), sent) == ["world"]
    assert unsent_text(message(MsgStatus.success, card), sent) == []
