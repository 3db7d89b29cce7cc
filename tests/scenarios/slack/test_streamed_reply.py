"""A mention's reply streams: a task per agent call, the answer as markdown, the results
as blocks at stopStream; Stop cancels; refused streaming is the edited card; a job that
outlives the stream still ends in one reply."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from adapters.slack.stream_delivery import StreamOptions
from bot.stats import stats_line
from core.llm.base import BaseLLM, LLMResponse, TextSink, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage, ToolCall
from tests.conftest import make_settings
from tests.fakes.openai_server import reply_text, reply_tool_calls, running_openai_server
from tests.fakes.slack_api import FakeMessage, FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory

CHANNEL = "C1"
ANSWER = "Your library is empty for now: attach a video to get started."


def videos_then(answer: Any) -> ScriptedLLM:
    """Calls `videos`, then answers with `answer()` (which may wait)."""

    async def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        if not any(m.role == "tool" for m in messages):
            return LLMResponse(tool_calls=[ToolCall(id="call_1", name="videos", arguments="{}")])
        return LLMResponse(content=await answer())

    return ScriptedLLM(script)


async def answer_now() -> str:
    return ANSWER


def streamed(fake: FakeSlack, thread_ts: str) -> FakeMessage | None:
    found = [m for m in fake.thread(CHANNEL, thread_ts) if m.chunks or m.streaming]
    return found[0] if found else None


def element_types(message: FakeMessage) -> list[str]:
    return [e.get("type", "") for b in message.blocks for e in b.get("elements", []) if isinstance(e, dict)]


async def test_a_mention_streams_tasks_then_the_final_blocks(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    bot = await slack_bot(llm=videos_then(answer_now), SLACK_STREAMING="true")
    event = mention(CHANNEL, "what videos do I have?")
    assert await bot.send(event) == 200

    message = await fake_slack.wait_until(lambda: fake_slack.posted("chat.stopStream") and streamed(fake_slack, event["ts"]))
    assert len(fake_slack.thread(CHANNEL, event["ts"])) == 1 and fake_slack.calls("chat.postMessage") == 0
    start = fake_slack.posted("chat.startStream")[0].params
    assert start["recipient_user_id"] == "U0USER" and start["recipient_team_id"] == "T0001"
    assert message.task_statuses("call_1") == ["pending", "in_progress", "complete"]
    assert message.tasks()["call_1"]["title"] == "Videos"
    assert message.text == ANSWER
    assert "No videos yet" in message.all_text()  # the results are blocks, not prose
    assert "feedback_buttons" in element_types(message)
    assert fake_slack.statuses[0]["thread_ts"] == event["ts"]
    await fake_slack.wait_until(lambda: fake_slack.statuses[-1]["status"] == "")  # cleared at the end


async def test_openai_tokens_stream_coalesced(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    async with running_openai_server() as server:
        server.chunk_chars = 3  # many small deltas
        server.enqueue(reply_tool_calls(("videos", {})), reply_text(ANSWER))
        bot = await slack_bot(SLACK_STREAMING="true", OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=server.base_url,
                              stream=StreamOptions(min_interval=0.5))
        event = mention(CHANNEL, "list my videos")
        await bot.send(event)
        message = await fake_slack.wait_until(lambda: fake_slack.posted("chat.stopStream")
                                              and streamed(fake_slack, event["ts"]))
    text_appends = [r for r in fake_slack.posted("chat.appendStream")
                    if any(c.get("type") == "markdown_text" for c in r.params.get("chunks", []))]
    assert message.text == ANSWER
    assert 1 <= len(text_appends) < len(ANSWER) // 3  # coalesced, never one call per token
    assert all(r.body.get("stream") is True for r in server.requests)


async def test_stop_cancels_the_turn(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    never = asyncio.Event()

    async def hang() -> str:
        await never.wait()
        return "unreachable"

    bot = await slack_bot(llm=videos_then(hang), SLACK_STREAMING="true", stream=StreamOptions(min_interval=0.05, tick_s=0.05))
    event = mention(CHANNEL, "take your time")
    await bot.send(event)
    message = await fake_slack.wait_until(
        lambda: (m := streamed(fake_slack, event["ts"])) and m.task_statuses("call_1")[-1:] == ["complete"] and m)
    fake_slack.press_stop(CHANNEL, message.ts)
    await fake_slack.wait_until(lambda: "Cancelled" in message.text)
    retry = message.button("director_retry")  # the same message, now the cancelled card
    assert retry is not None and len(fake_slack.thread(CHANNEL, event["ts"])) == 1

    never.set()  # the retried turn answers; it edits the same message
    assert await bot.press("director_retry", retry["value"], message) == 200
    await fake_slack.wait_until(lambda: "Done" in message.text and "unreachable" in message.all_text())
    assert len(fake_slack.thread(CHANNEL, event["ts"])) == 1 and fake_slack.calls("chat.startStream") == 1


async def test_refused_streaming_is_the_edited_card(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    fake_slack.no_stream_channels.add(CHANNEL)
    bot = await slack_bot(llm=videos_then(answer_now), SLACK_STREAMING="true")
    first, second = mention(CHANNEL, "one"), mention(CHANNEL, "two")
    await bot.send(first)
    card = await bot.final_card(CHANNEL, first["ts"])
    assert "Done" in card.text and ANSWER in card.all_text() and not card.chunks
    await bot.send(second)
    await bot.final_card(CHANNEL, second["ts"])
    assert fake_slack.calls("chat.startStream") == 1  # the channel's refusal is remembered


async def test_a_job_past_the_stream_age_ends_in_one_reply(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    now = [1_000.0]
    fake_slack.clock = lambda: now[0]
    release = asyncio.Event()

    async def later() -> str:
        await release.wait()
        return ANSWER

    bot = await slack_bot(llm=videos_then(later), SLACK_STREAMING="true",
                          stream=StreamOptions(min_interval=0.05, clock=lambda: now[0]))
    event = mention(CHANNEL, "index everything")
    await bot.send(event)
    message = await fake_slack.wait_until(
        lambda: (m := streamed(fake_slack, event["ts"])) and m.task_statuses("call_1")[-1:] == ["complete"] and m)
    appends = fake_slack.calls("chat.appendStream")
    now[0] += 20 * 60  # a 20-minute index: the stream has long expired
    release.set()
    await fake_slack.wait_until(lambda: "Done" in message.text and "feedback_buttons" in element_types(message))
    assert ANSWER in message.all_text()
    assert fake_slack.calls("chat.appendStream") == appends  # nothing appended to an old stream
    assert [r.params["ts"] for r in fake_slack.posted("chat.update")][-1] == message.ts
    assert len(fake_slack.thread(CHANNEL, event["ts"])) == 1


async def test_feedback_is_recorded_with_the_turn(slack_bot: BotFactory, fake_slack: FakeSlack, tmp_path: Path) -> None:
    bot = await slack_bot(llm=videos_then(answer_now), SLACK_STREAMING="true")
    event = mention(CHANNEL, "what videos do I have?")
    await bot.send(event)
    message = await fake_slack.wait_until(lambda: fake_slack.posted("chat.stopStream") and streamed(fake_slack, event["ts"]))
    [buttons] = [e for b in message.blocks for e in b.get("elements", []) if e.get("type") == "feedback_buttons"]
    good, bad = buttons["positive_button"]["value"], buttons["negative_button"]["value"]

    assert await bot.press("director_feedback", bad, message) == 200
    assert await bot.press("director_feedback", good, message, user="U0OTHER") == 200
    assert await bot.press("director_feedback", "good:no-such-turn", message) == 200
    await fake_slack.wait_until(lambda: len(fake_slack.ephemeral) == 2)
    assert await bot.press("director_feedback", good, message) == 200  # changed their mind: one vote each
    await fake_slack.wait_until(lambda: len(fake_slack.ephemeral) == 3)
    line = await stats_line(make_settings(tmp_path / "data"))
    assert line.startswith("turns: 1 (succeeded 1)") and line.endswith("feedback: 👍 2 · 👎 0")


async def test_rate_limited_appends_wait_and_the_final_state_lands(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    fake_slack.rate_limit("chat.appendStream", retry_after=0, times=2)
    fake_slack.rate_limit("chat.stopStream", retry_after=0, times=1)
    bot = await slack_bot(llm=videos_then(answer_now), SLACK_STREAMING="true")
    event = mention(CHANNEL, "what videos do I have?")
    await bot.send(event)
    message = await fake_slack.wait_until(lambda: fake_slack.posted("chat.stopStream") and streamed(fake_slack, event["ts"]))
    assert [r.status for r in fake_slack.requests if r.method == "chat.appendStream"][:2] == [429, 429]
    assert message.text == ANSWER and message.task_statuses("call_1") == ["pending", "in_progress", "complete"]
    assert "feedback_buttons" in element_types(message)


class TestStreamingLLM(BaseLLM):
    """Streams a lead-in, then calls `videos`; then streams the answer in pieces."""

    __test__ = False
    name = "test-streaming"
    can_stream = True

    async def chat(self, messages: list[ContextMessage], tools: list[ToolSpec] | None = None) -> LLMResponse:
        raise AssertionError("the engine streams from a model that can")

    async def chat_stream(self, messages: list[ContextMessage], tools: list[ToolSpec] | None,
                          on_text: TextSink) -> LLMResponse:
        if not any(m.role == "tool" for m in messages):
            on_text("Let me look that up… ")
            return LLMResponse(tool_calls=[ToolCall(id="call_1", name="videos", arguments="{}")])
        for start in range(0, len(ANSWER), 5):
            on_text(ANSWER[start:start + 5])
        return LLMResponse(content=ANSWER)


async def test_text_taken_back_before_it_was_sent_never_shows(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    bot = await slack_bot(llm=TestStreamingLLM(), SLACK_STREAMING="true", stream=StreamOptions(min_interval=0.5))
    event = mention(CHANNEL, "what videos do I have?")
    await bot.send(event)
    message = await fake_slack.wait_until(lambda: fake_slack.posted("chat.stopStream") and streamed(fake_slack, event["ts"]))
    assert message.text == ANSWER  # the lead-in was dropped while still queued; the answer came in pieces, whole
