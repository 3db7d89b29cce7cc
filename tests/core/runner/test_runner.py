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


async def test_cancel_while_waiting_for_a_slot_means_it_never_runs(make_app: AppFactory) -> None:
    gated = GatedLLM()
    port = RecordingPort()
    app = await make_app(llm=ScriptedLLM(gated.script), ports=[port], MAX_CONCURRENT_TURNS=1)
    first = await app.conversations.accept(incoming("first", thread="t1"))
    waiting = await app.conversations.accept(incoming("waiting", thread="t2"))
    await gated.wait_started(1)
    assert await app.conversations.cancel(waiting.turn.turn_id)
    gated.gate("first").set()
    assert await app.conversations.wait(first.turn.turn_id) is TurnStatus.succeeded
    assert await app.conversations.wait(waiting.turn.turn_id) is TurnStatus.cancelled
    assert gated.started == ["first"]
    assert (await app.store.turns.get(waiting.turn.turn_id)).status == "cancelled"  # type: ignore[union-attr]
    assert port.published[waiting.turn.turn_id].status is MsgStatus.cancelled


async def test_one_workspace_never_takes_every_slot(make_app: AppFactory) -> None:
    gated = GatedLLM()
    app = await make_app(llm=ScriptedLLM(gated.script), ports=[RecordingPort()], MAX_CONCURRENT_TURNS=2,
                         MAX_TURNS_PER_WORKSPACE=1)

    def in_workspace(text: str, workspace: str, thread: str) -> Incoming:
        return Incoming(thread=ThreadKey(platform="test", workspace_id=workspace, channel_id="c", thread_id=thread),
                        user_id="u", text=text, event_keys=[f"k:{workspace}:{thread}"])

    busy = [await app.conversations.accept(in_workspace(f"a{i}", "A", f"t{i}")) for i in range(3)]
    other = await app.conversations.accept(in_workspace("b", "B", "t9"))
    await gated.wait_started(2)
    assert sorted(gated.started) == ["a0", "b"]  # A's second and third wait; B is not held up
    for text in ("a0", "a1", "a2", "b"):
        gated.gate(text).set()
    for accepted in [*busy, other]:
        assert await app.conversations.wait(accepted.turn.turn_id) is TurnStatus.succeeded


class SlowDeliveryPort(RecordingPort):
    """Its final edits wait for the test, as a platform's rate budget would make them."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    def observer_for(self, turn, save_ref):  # type: ignore[no-untyped-def]
        observer = super().observer_for(turn, save_ref)
        publish = observer.on_publish

        async def slow_publish(message):  # type: ignore[no-untyped-def]
            await self.release.wait()
            await publish(message)

        observer.on_publish = slow_publish  # type: ignore[method-assign]
        return observer


async def test_a_turn_waiting_to_be_delivered_frees_its_slot(make_app: AppFactory) -> None:
    port = SlowDeliveryPort()
    second_ran = asyncio.Event()

    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        if messages[-1].content == "second":
            second_ran.set()
        return LLMResponse(content="ok")

    app = await make_app(llm=ScriptedLLM(script), ports=[port], MAX_CONCURRENT_TURNS=1)
    first = await app.conversations.accept(incoming("first", thread="t1"))
    second = await app.conversations.accept(incoming("second", thread="t2"))
    # The only slot is free again while the first turn's final edit still waits.
    await asyncio.wait_for(second_ran.wait(), 10)
    assert port.published == {}
    assert (await app.store.turns.get(first.turn.turn_id)).status == "succeeded"  # type: ignore[union-attr]
    port.release.set()
    assert await app.conversations.wait(first.turn.turn_id) is TurnStatus.succeeded
    assert await app.conversations.wait(second.turn.turn_id) is TurnStatus.succeeded
    assert set(port.published) == {first.turn.turn_id, second.turn.turn_id}


async def test_concurrent_messages_of_a_thread_run_in_the_order_they_were_stored(make_app: AppFactory) -> None:
    seen: list[str] = []

    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        seen.append(messages[-1].content or "")
        return LLMResponse(content="ok")

    app = await make_app(llm=ScriptedLLM(script), ports=[RecordingPort()])
    texts = [f"message {i}" for i in range(6)]
    accepted = await asyncio.gather(*(app.conversations.accept(incoming(text)) for text in texts))
    for item in accepted:
        await app.conversations.wait(item.turn.turn_id)
    by_seq = sorted(await app.store.turns.for_session(accepted[0].turn.session_id), key=lambda t: t.seq)
    inputs = [(await app.store.turns.load_input(turn.id)).text for turn in by_seq]
    assert seen == inputs


async def test_a_second_process_never_touches_the_turns_of_a_live_one(make_app: AppFactory, tmp_path: Path) -> None:
    gated = GatedLLM()
    data_dir = tmp_path / "shared"
    first = await make_app(llm=ScriptedLLM(gated.script), ports=[RecordingPort()], data_dir=data_dir)
    running = await first.conversations.accept(incoming("long job"))
    await gated.wait_started(1)
    second_port = RecordingPort()
    second = await make_app(ports=[second_port], data_dir=data_dir)
    assert await second.runner.adopt() == 0
    assert (await second.store.turns.get(running.turn.turn_id)).status == "running"  # type: ignore[union-attr]
    assert second_port.published == {}
    gated.gate("long job").set()
    assert await first.conversations.wait(running.turn.turn_id) is TurnStatus.succeeded


async def test_cancel_pressed_in_another_process_stops_the_turn(make_app: AppFactory, tmp_path: Path) -> None:
    gated = GatedLLM()
    data_dir = tmp_path / "shared"
    port = RecordingPort()
    first = await make_app(llm=ScriptedLLM(gated.script), ports=[port], data_dir=data_dir)
    running = await first.conversations.accept(incoming("long job"))
    await gated.wait_started(1)
    second = await make_app(ports=[RecordingPort()], data_dir=data_dir)
    assert await second.conversations.cancel(running.turn.turn_id)
    assert await asyncio.wait_for(first.conversations.wait(running.turn.turn_id), 20) is TurnStatus.cancelled
    assert port.published[running.turn.turn_id].status is MsgStatus.cancelled


async def test_an_end_a_dead_process_never_delivered_is_delivered(make_app: AppFactory, tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    dead = await make_app(start=False, data_dir=data_dir)
    turn_id = (await _seed_running_turn(dead))["turn_id"]
    output, _ = await dead.store.turns.load_output(turn_id)
    output.status = MsgStatus.success
    await dead.store.end_turn(turn_id, output.session_id, TurnStatus.succeeded, None, [], None, output=output)
    port = RecordingPort()
    await make_app(ports=[port], data_dir=data_dir)
    assert port.published[turn_id].status is MsgStatus.success
    assert (await dead.store.turns.get(turn_id)).delivered  # type: ignore[union-attr]
