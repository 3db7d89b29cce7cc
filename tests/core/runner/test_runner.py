"""The job runner through the whole App: ordering per session, concurrency across
sessions, cancellation, interrupted after a restart, retry on the same message."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from core.incoming import Incoming, ThreadKey
from core.llm.base import LLMResponse, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage, InputMessage, MsgStatus
from core.turns import TurnStatus
from tests.conftest import AppFactory
from tests.helpers.ports import RecordingPort


def incoming(text: str, thread: str = "t1", channel: str = "c1", key: str | None = None) -> Incoming:
    return Incoming(thread=ThreadKey(platform="test", workspace_id="w", channel_id=channel, thread_id=thread),
                    user_id="u", text=text, event_keys=[key or f"k:{channel}:{thread}:{text}"])


class GatedLLM:
    """A scripted model whose answers wait for the test to open a gate per prompt."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.started: list[str] = []
        self.started_event = asyncio.Event()

    def gate(self, text: str) -> asyncio.Event:
        return self.gates.setdefault(text, asyncio.Event())

    async def script(self, messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        text = messages[-1].content or ""
        self.started.append(text)
        self.started_event.set()
        await self.gate(text).wait()
        return LLMResponse(content=f"answer to {text}")

    async def wait_started(self, count: int) -> None:
        while len(self.started) < count:
            self.started_event.clear()
            await asyncio.wait_for(self.started_event.wait(), 10)


async def test_turns_of_a_session_run_one_at_a_time_in_order(make_app: AppFactory) -> None:
    gated = GatedLLM()
    port = RecordingPort()
    app = await make_app(llm=ScriptedLLM(gated.script), ports=[port])
    turns = [await app.conversations.accept(incoming(text)) for text in ("one", "two", "three")]
    await gated.wait_started(1)
    assert gated.started == ["one"]  # two and three wait for their turn
    for text in ("three", "two", "one"):  # opening gates out of order changes nothing
        gated.gate(text).set()
    statuses = [await app.conversations.wait(t.turn.turn_id) for t in turns]
    assert statuses == [TurnStatus.succeeded] * 3
    assert gated.started == ["one", "two", "three"]
    # Each turn's message showed queued first and ended in success.
    for accepted in turns:
        observed = port.observers[accepted.turn.turn_id].statuses
        assert observed[0] is MsgStatus.queued and observed[-1] is MsgStatus.success


async def test_sessions_run_concurrently(make_app: AppFactory) -> None:
    gated = GatedLLM()
    app = await make_app(llm=ScriptedLLM(gated.script), ports=[RecordingPort()])
    first = await app.conversations.accept(incoming("a", thread="t1"))
    second = await app.conversations.accept(incoming("b", thread="t2"))
    await gated.wait_started(2)  # both running before either is released
    gated.gate("a").set()
    gated.gate("b").set()
    assert await app.conversations.wait(first.turn.turn_id) is TurnStatus.succeeded
    assert await app.conversations.wait(second.turn.turn_id) is TurnStatus.succeeded


async def test_duplicate_delivery_is_refused(make_app: AppFactory) -> None:
    app = await make_app(ports=[RecordingPort()])
    assert await app.conversations.accept(incoming("help", key="same")) is not None
    assert await app.conversations.accept(incoming("help", key="same")) is None


async def test_cancel_a_running_turn_and_a_queued_one(make_app: AppFactory) -> None:
    gated = GatedLLM()
    port = RecordingPort()
    app = await make_app(llm=ScriptedLLM(gated.script), ports=[port])
    running = await app.conversations.accept(incoming("long job"))
    queued = await app.conversations.accept(incoming("next job"))
    await gated.wait_started(1)
    assert await app.conversations.cancel(queued.turn.turn_id)
    assert await app.conversations.cancel(running.turn.turn_id)
    assert await app.conversations.wait(running.turn.turn_id) is TurnStatus.cancelled
    assert await app.conversations.wait(queued.turn.turn_id) is TurnStatus.cancelled
    assert gated.started == ["long job"]
    assert port.published[running.turn.turn_id].status is MsgStatus.cancelled
    stored, _ = await app.store.turns.load_output(running.turn.turn_id)
    assert stored.status is MsgStatus.cancelled
    assert not await app.conversations.cancel(running.turn.turn_id)  # already over


async def test_restart_marks_interrupted_then_retry_edits_the_same_message(make_app: AppFactory,
                                                                           tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    dead = await make_app(start=False, data_dir=data_dir)
    # A process died mid-turn: the turn is stored as running with its message posted.
    session_row = await _seed_running_turn(dead)
    port = RecordingPort()
    answers = ScriptedLLM(lambda m, t: LLMResponse(content="done after retry"))
    app = await make_app(llm=answers, ports=[port], data_dir=data_dir)
    turn_id = session_row["turn_id"]
    assert port.published[turn_id].status is MsgStatus.interrupted
    assert (await app.store.turns.get(turn_id)).status == "interrupted"  # type: ignore[union-attr]

    retried = await app.conversations.retry(turn_id)
    assert retried is not None and retried.output_ref == {"message": "m-1"}
    assert await app.conversations.wait(retried.turn_id) is TurnStatus.succeeded
    assert port.published[retried.turn_id].text() == "done after retry"
    assert port.refs[retried.turn_id] == {"message": "m-1"}  # the same platform message is edited
    assert await app.conversations.retry(retried.turn_id) is None  # succeeded turns aren't retried


async def _seed_running_turn(app: Any) -> dict[str, str]:
    thread = ThreadKey(platform="test", workspace_id="w", channel_id="c1", thread_id="t9")

    async def create() -> str:
        return (await app.backend.create_collection("test #c1")).id

    channel = await app.store.channels.get_or_bind(thread.channel, "local", "test #c1", create)
    session = await app.store.sessions.get_or_create(thread, channel.id, "u")
    turn = await app.store.turns.create(session.id, InputMessage(text="summarize it", user_id="u"),
                                        output_ref={"message": "m-1"})
    from core.turns import TurnStatus as Status

    await app.store.turns.set_status(turn.id, Status.running)
    return {"turn_id": turn.id}


async def test_session_memory_reaches_the_next_turn(make_app: AppFactory) -> None:
    seen: list[list[str]] = []

    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        seen.append([m.content or "" for m in messages if m.role in ("user", "assistant")])
        return LLMResponse(content=f"reply {len(seen)}")

    app = await make_app(llm=ScriptedLLM(script), ports=[RecordingPort()])
    first = await app.conversations.accept(incoming("find pricing"))
    await app.conversations.wait(first.turn.turn_id)
    second = await app.conversations.accept(incoming("clip the second hit"))
    assert second is not None and not second.new_session
    await app.conversations.wait(second.turn.turn_id)
    assert seen[1] == ["find pricing", "reply 1", "clip the second hit"]


async def test_stopping_the_process_interrupts_running_turns(make_app: AppFactory) -> None:
    gated = GatedLLM()
    port = RecordingPort()
    app = await make_app(llm=ScriptedLLM(gated.script), ports=[port])
    running = await app.conversations.accept(incoming("long job"))
    await gated.wait_started(1)
    await app.runner.stop()
    assert port.published[running.turn.turn_id].status is MsgStatus.interrupted
    assert (await app.store.turns.get(running.turn.turn_id)).status == "interrupted"  # type: ignore[union-attr]


async def test_history_never_starts_in_the_middle_of_a_turn(make_app: AppFactory) -> None:
    from core.messages import ToolCall

    seen: list[list[ContextMessage]] = []

    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        seen.append(messages)
        return LLMResponse(content="ok")

    app = await make_app(llm=ScriptedLLM(script), ports=[RecordingPort()])
    first = await app.conversations.accept(incoming("hello"))
    await app.conversations.wait(first.turn.turn_id)
    call = ToolCall(id="c", name="videos", arguments="{}")
    # One long earlier turn: the newest 400 rows begin inside it, at a tool result.
    long_turn = [ContextMessage.user("list")] + [ContextMessage.assistant(None, [call]),
                                                 ContextMessage.tool(call, "{}")] * 250
    await app.store.context.append(first.turn.session_id, "long-turn", long_turn)
    second = await app.conversations.accept(incoming("and now?"))
    await app.conversations.wait(second.turn.turn_id)
    history = [m for m in seen[-1] if m.role != "system"]
    assert history[0].role == "user"
    assert all(m.tool_call_id != "c" for m in history[:2])


async def test_retry_pressed_twice_or_in_two_processes_runs_once(make_app: AppFactory, tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    dead = await make_app(start=False, data_dir=data_dir)
    turn_id = (await _seed_running_turn(dead))["turn_id"]
    one = await make_app(ports=[RecordingPort()], data_dir=data_dir)
    two = await make_app(ports=[RecordingPort()], data_dir=data_dir, start=False)
    first = await one.conversations.retry(turn_id)
    assert first is not None
    assert await one.conversations.retry(turn_id) is None
    assert await two.conversations.retry(turn_id) is None
    await one.conversations.wait(first.turn_id)
