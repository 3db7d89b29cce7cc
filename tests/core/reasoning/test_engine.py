"""The reasoning engine: the tool loop, concurrency, tool errors, recovery, limits.

"The LLM" is either a ScriptedLLM (a plain function) or the real AsyncOpenAI client
talking to the loopback fake; agents here are small real BaseAgents defined for the
test; videos come from the real local backend (an empty collection is enough).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.incoming import ThreadKey
from core.llm.base import LLMResponse, ToolSpec
from core.llm.openai_llm import OpenAILLM
from core.llm.scripted import ScriptedLLM
from core.messages import CardStatus, ContextMessage, InputMessage, MsgStatus, OutputMessage, TextCard, ToolCall
from core.reasoning.engine import EngineLimits, ReasoningEngine
from core.reasoning.events import TextDelta, TextDiscarded, ToolCallFinished, ToolCallStarted
from core.session import CollectionScope, Session
from core.storage.database import create_engine, migrate, session_factory
from core.video.backend import Capability
from core.video.local.backend import LocalBackend
from tests.fakes.openai_server import (
    like_llama_cpp_python,
    reply_error,
    reply_hang,
    reply_text,
    reply_text_call,
    reply_tool_calls,
    running_openai_server,
)

FAST = {"retry-after-ms": "1"}


class EchoParams(BaseModel):
    text: str = Field(description="what to echo")


class EchoAgent(BaseAgent[EchoParams]):
    name: ClassVar[str] = "echo"
    description: ClassVar[str] = "Echo text back."
    Params = EchoParams

    def __init__(self, barrier: asyncio.Barrier | None = None) -> None:
        self.barrier = barrier

    async def run(self, ctx: AgentContext, params: EchoParams) -> AgentResponse:
        if self.barrier is not None:
            await asyncio.wait_for(self.barrier.wait(), 5)  # passes only if calls run concurrently
        ctx.output.add_card(TextCard(agent_name=self.name, text=f"echo: {params.text}"))
        return AgentResponse.ok(f"echoed {params.text}")


class FlakyParams(BaseModel):
    attempt: int


class FlakyAgent(BaseAgent[FlakyParams]):
    """Fails on attempt 1, succeeds after: the engine must mark the turn recovered."""

    name: ClassVar[str] = "flaky"
    description: ClassVar[str] = "Fails the first time."
    Params = FlakyParams

    async def run(self, ctx: AgentContext, params: FlakyParams) -> AgentResponse:
        if params.attempt == 1:
            raise RuntimeError("transient")
        return AgentResponse.ok("worked")


def tool_results(messages: list[ContextMessage]) -> list[dict[str, object]]:
    return [json.loads(m.content or "{}") for m in messages if m.role == "tool"]


@asynccontextmanager
async def fresh_ctx() -> AsyncIterator[AgentContext]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        engine = create_engine(f"sqlite+aiosqlite:///{root / 'e.db'}")
        await migrate(engine)
        backend = LocalBackend(session_factory(engine), root, lambda: "http://127.0.0.1:1",
                               max_upload_bytes=10_000_000)
        collection = await backend.create_collection("test #c")
        session = Session(id="s1", key=ThreadKey(platform="test", workspace_id="w", channel_id="c", thread_id="t"),
                          collection=CollectionScope(backend, collection.id))
        yield AgentContext(session=session, output=OutputMessage(), llm=ScriptedLLM(lambda m, t: LLMResponse()))
        await engine.dispose()


@pytest.fixture
async def ctx() -> AsyncIterator[AgentContext]:
    async with fresh_ctx() as context:
        yield context


def call(name: str, arguments: str | dict[str, object], call_id: str = "c1") -> ToolCall:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(id=call_id, name=name, arguments=args)


def two_step(first: list[ToolCall], answer: str = "All done.") -> ScriptedLLM:
    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        if messages[-1].role == "user":
            return LLMResponse(tool_calls=first)
        return LLMResponse(content=answer)

    return ScriptedLLM(script)


async def test_tool_call_then_answer(ctx: AgentContext) -> None:
    llm = two_step([call("echo", {"text": "hi"})])
    outcome = await ReasoningEngine(llm, [EchoAgent()]).run(ctx, InputMessage(text="say hi"), [])
    assert outcome.status is MsgStatus.success
    assert ctx.output.actions == ["Running @echo"] and ctx.output.agents == ["echo"]
    assert [c.text for c in ctx.output.content] == ["echo: hi", "All done."]
    assert [m.role for m in outcome.context] == ["user", "assistant", "tool", "assistant"]
    # The tools offered come from the agents' pydantic parameters.
    tools = {t.name: t for t in [EchoAgent().tool_spec()]}
    assert tools["echo"].parameters["properties"]["text"]["description"] == "what to echo"


async def test_independent_calls_of_one_step_run_concurrently(ctx: AgentContext) -> None:
    barrier = asyncio.Barrier(2)
    llm = two_step([call("echo", {"text": "a"}, "c1"), call("echo", {"text": "b"}, "c2")])
    outcome = await ReasoningEngine(llm, [EchoAgent(barrier)]).run(ctx, InputMessage(text="both"), [])
    assert outcome.status is MsgStatus.success
    assert {"echo: a", "echo: b"} <= {c.text for c in ctx.output.cards_of(TextCard)}


@pytest.mark.parametrize(
    ("bad_call", "expected"),
    [
        (call("nope", {}), "Unknown tool 'nope'"),
        (call("echo", "{not json"), "not valid JSON"),
        (call("echo", {"wrong": 1}), "Invalid arguments for echo: text: Field required"),
    ],
)
async def test_bad_tool_calls_go_back_to_the_llm_as_errors(ctx: AgentContext, bad_call: ToolCall,
                                                          expected: str) -> None:
    llm = two_step([bad_call], answer="Sorry.")
    outcome = await ReasoningEngine(llm, [EchoAgent()]).run(ctx, InputMessage(text="x"), [])
    result = tool_results(llm.calls[-1])[0]
    assert result["status"] == "error" and expected in str(result["message"])
    assert outcome.status is MsgStatus.error
    errors = [c for c in ctx.output.content if c.status is CardStatus.error]
    assert errors and expected in errors[0].status_message


async def test_an_error_recovered_later_does_not_fail_the_turn(ctx: AgentContext) -> None:
    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        attempts = sum(1 for m in messages if m.role == "tool")
        if attempts < 2:
            return LLMResponse(tool_calls=[call("flaky", {"attempt": attempts + 1}, f"c{attempts}")])
        return LLMResponse(content="Worked on the second try.")

    outcome = await ReasoningEngine(ScriptedLLM(script), [FlakyAgent()]).run(ctx, InputMessage(text="go"), [])
    assert outcome.status is MsgStatus.success
    stale = [c for c in ctx.output.content if c.agent_name == "flaky"]
    assert stale and all(c.status is CardStatus.success for c in stale)
    assert "Recovered" in stale[0].status_message


async def test_iteration_cap_forces_a_final_answer_without_tools(ctx: AgentContext) -> None:
    offered: list[bool] = []

    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        offered.append(bool(tools))
        if tools:
            return LLMResponse(tool_calls=[call("echo", {"text": f"again {len(offered)}"}, f"c{len(offered)}")])
        return LLMResponse(content="Stopping here.")

    engine = ReasoningEngine(ScriptedLLM(script), [EchoAgent()], EngineLimits(max_iterations=3))
    outcome = await engine.run(ctx, InputMessage(text="loop"), [])
    assert offered == [True, True, True, False]
    assert outcome.status is MsgStatus.success and ctx.output.content[-1].text == "Stopping here."


async def test_history_is_in_the_prompt_and_bounded(ctx: AgentContext) -> None:
    seen: list[list[ContextMessage]] = []

    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        seen.append(messages)
        return LLMResponse(content="ok")

    old_turn = [ContextMessage.user("x" * 40_000), ContextMessage.assistant("long ago")]
    recent_turn = [ContextMessage.user("find pricing"), ContextMessage.assistant("Found 2 hits.")]
    engine = ReasoningEngine(ScriptedLLM(script), [EchoAgent()], EngineLimits(history_tokens=1000))
    await engine.run(ctx, InputMessage(text="clip the second hit"), [old_turn, recent_turn])
    contents = [m.content for m in seen[0]]
    assert "Found 2 hits." in contents and "long ago" not in contents
    assert any("1 earlier turn(s)" in (c or "") for c in contents)
    assert seen[0][0].role == "system" and "collection is empty" not in (seen[0][0].content or "")
    assert seen[0][1].role == "system" and "collection is empty" in (seen[0][1].content or "")
    assert seen[0][-1].content == "clip the second hit"


async def test_large_tool_output_goes_in_by_reference(ctx: AgentContext) -> None:
    class BigAgent(EchoAgent):
        name: ClassVar[str] = "big"

        async def run(self, ctx: AgentContext, params: EchoParams) -> AgentResponse:
            return AgentResponse.ok("word " * 10_000)

    llm = two_step([call("big", {"text": "x"})])
    await ReasoningEngine(llm, [BigAgent()], EngineLimits(tool_output_chars=2000)).run(ctx, InputMessage(text="x"), [])
    tool_message = [m for m in llm.calls[-1] if m.role == "tool"][0]
    assert len(tool_message.content or "") < 2300 and "more characters not shown" in (tool_message.content or "")


# --- the real OpenAI client over loopback ---------------------------------------------


def openai_llm(base_url: str, timeout_s: float = 5.0) -> OpenAILLM:
    return OpenAILLM(api_key="sk-test-key", model="fake-model", base_url=base_url, timeout_s=timeout_s,
                     max_retries=2)


async def test_openai_parallel_calls_malformed_and_unknown_tools(ctx: AgentContext) -> None:
    async with running_openai_server() as fake:
        fake.enqueue(
            reply_tool_calls(("echo", {"text": "a"}), ("echo", "{oops"), ("teleport", {})),
            reply_text("Echoed a; the other two calls failed."),
        )
        outcome = await ReasoningEngine(openai_llm(fake.base_url), [EchoAgent()]).run(
            ctx, InputMessage(text="go"), [])
        second = fake.requests[1].body["messages"]
        tools = [m for m in second if m["role"] == "tool"]
        assert len(tools) == 3
        statuses = [json.loads(m["content"])["status"] for m in tools]
        assert statuses == ["success", "error", "error"]
        assert {t["function"]["name"] for t in fake.requests[0].body["tools"]} == {"echo"}
    assert outcome.status is MsgStatus.success
    assert "echo: a" in [c.text for c in ctx.output.cards_of(TextCard)]


async def test_openai_429_then_success(ctx: AgentContext) -> None:
    async with running_openai_server() as fake:
        fake.enqueue(reply_error(429, "slow down", headers={"Retry-After": "0.05"}), reply_text("Hello!"))
        outcome = await ReasoningEngine(openai_llm(fake.base_url), [EchoAgent()]).run(ctx, InputMessage(text="hi"), [])
        assert len(fake.requests) == 2
    assert outcome.status is MsgStatus.success and ctx.output.text() == "Hello!"


@pytest.mark.parametrize("reply", [reply_error(500, "boom", headers={"retry-after-ms": "1"}), reply_hang()],
                         ids=["500", "timeout"])
async def test_openai_failure_ends_the_turn_with_a_clear_error(ctx: AgentContext, reply: object) -> None:
    async with running_openai_server() as fake:
        fake.handler = lambda request: reply  # type: ignore[assignment,return-value]
        outcome = await ReasoningEngine(openai_llm(fake.base_url, timeout_s=0.5), [EchoAgent()]).run(
            ctx, InputMessage(text="hi"), [])
    assert outcome.status is MsgStatus.error
    card = ctx.output.content[-1]
    assert card.status is CardStatus.error and card.status_message
    assert "sk-test-key" not in card.status_message


def test_progress_reports_after_a_card_ended_are_ignored(ctx: AgentContext) -> None:
    card = ctx.progress_card("upload", "indexing…")
    report = ctx.reporter(card)
    report("indexing", 0.4)
    assert card.status_message == "indexing 40%"
    card.status, card.status_message = CardStatus.error, "Stopped."
    report("indexing", 0.5)  # a worker thread that has not noticed the cancellation yet
    assert card.status_message == "Stopped."


# a model's small mistakes -----------------------------------------------------------------


async def test_a_repeated_call_ends_the_loop_with_an_answer_from_what_it_has(ctx: AgentContext) -> None:
    offered: list[bool] = []

    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        offered.append(bool(tools))
        if tools:  # a small model stuck on one call, spacing its arguments differently each time
            spacing = " " * len(offered)
            return LLMResponse(tool_calls=[call("echo", f'{{"text":{spacing}"hi"}}', f"c{len(offered)}")])
        return LLMResponse(content="I echoed hi.")

    outcome = await ReasoningEngine(ScriptedLLM(script), [EchoAgent()]).run(ctx, InputMessage(text="echo hi"), [])

    assert offered == [True, True, False]
    assert outcome.status is MsgStatus.success
    assert [c.text for c in ctx.output.cards_of(TextCard)] == ["echo: hi", "I echoed hi."]
    assert ctx.output.actions == ["Running @echo"]
    assert [m.role for m in outcome.context] == ["user", "assistant", "tool", "assistant"]


async def test_a_repeat_inside_a_new_step_is_answered_not_run(ctx: AgentContext) -> None:
    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        steps = sum(1 for m in messages if m.role == "assistant")
        if steps == 0:
            return LLMResponse(tool_calls=[call("echo", {"text": "a"}, "c1")])
        if steps == 1:
            return LLMResponse(tool_calls=[call("echo", {"text": "a"}, "c2"), call("echo", {"text": "b"}, "c3")])
        return LLMResponse(content="Done.")

    llm = ScriptedLLM(script)
    outcome = await ReasoningEngine(llm, [EchoAgent()]).run(ctx, InputMessage(text="x"), [])

    assert [c.text for c in ctx.output.cards_of(TextCard)] == ["echo: a", "echo: b", "Done."]
    statuses = [r["status"] for r in tool_results(llm.calls[-1])]
    assert statuses == ["success", "skipped", "success"]
    assert outcome.status is MsgStatus.success


async def test_an_unusable_text_call_is_sent_back_once_and_never_shown(ctx: AgentContext) -> None:
    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        if messages[-1].role == "user" and "could not be used" not in (messages[-1].content or ""):
            return LLMResponse(content=None, rejected_calls=["there is no tool 'echo_text'"])
        if messages[-1].role == "user":
            return LLMResponse(tool_calls=[call("echo", {"text": "fixed"})])
        return LLMResponse(content="Echoed.")

    llm = ScriptedLLM(script)
    outcome = await ReasoningEngine(llm, [EchoAgent()]).run(ctx, InputMessage(text="echo"), [])

    assert "there is no tool 'echo_text'" in (llm.calls[1][-1].content or "")
    assert [c.text for c in ctx.output.cards_of(TextCard)] == ["echo: fixed", "Echoed."]
    assert outcome.status is MsgStatus.success
    assert not any("could not be used" in (m.content or "") for m in outcome.context)


async def test_a_model_that_only_writes_unusable_calls_gets_a_plain_reply(ctx: AgentContext) -> None:
    llm = ScriptedLLM(lambda messages, tools: LLMResponse(content=None, rejected_calls=["there is no tool 'x'"]))

    outcome = await ReasoningEngine(llm, [EchoAgent()]).run(ctx, InputMessage(text="do it"), [])

    assert len(llm.calls) == 2
    assert ctx.output.text() == "I couldn't turn that into an action. Could you say it another way?"
    assert outcome.context[-1].content == ctx.output.text()


# only what the backend can run ---------------------------------------------------------------


class NeedsScenes(EchoAgent):
    name: ClassVar[str] = "scenes"
    requires = Capability.scene_index


async def test_only_the_tools_the_backend_can_run_are_offered(ctx: AgentContext) -> None:
    seen: list[list[str]] = []

    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        seen.append([t.name for t in tools])
        if len(seen) == 1:
            return LLMResponse(tool_calls=[call("scenes", {"text": "x"})])
        return LLMResponse(content="ok")

    await ReasoningEngine(ScriptedLLM(script), [EchoAgent(), NeedsScenes()]).run(ctx, InputMessage(text="x"), [])

    assert seen[0] == ["echo"]  # the local backend has no scene index
    # Called anyway (a model that remembers it from elsewhere), the agent itself says why not.
    assert "echo: x" in ctx.output.text()


def test_tool_specs_per_backend() -> None:
    from core.agents.registry import all_agents
    from core.video.videodb.backend import VideoDBBackend

    engine = ReasoningEngine(ScriptedLLM(lambda m, t: LLMResponse()), all_agents())
    assert len(engine.tool_specs(LocalBackend.capabilities)) == 11
    assert len(engine.tool_specs(VideoDBBackend.capabilities)) == len(engine.tool_specs()) == 19


# the history a turn leaves ----------------------------------------------------------------


class FailingLLM(ScriptedLLM):
    async def chat(self, messages: list[ContextMessage], tools: list[ToolSpec] | None = None) -> LLMResponse:
        if any(m.role == "tool" for m in messages):
            raise RuntimeError("a bug")
        return LLMResponse(tool_calls=[call("echo", {"text": "a"})])


async def test_a_bug_in_the_turn_still_leaves_a_valid_conversation(ctx: AgentContext) -> None:
    outcome = await ReasoningEngine(FailingLLM(lambda m, t: LLMResponse()), [EchoAgent()]).run(
        ctx, InputMessage(text="go"), [])

    assert outcome.status is MsgStatus.error and outcome.error == "RuntimeError"
    assert [m.role for m in outcome.context] == ["user", "assistant"]
    assert "echo: echoed a" in (outcome.context[1].content or "")
    assert ctx.output.content[-1].status is CardStatus.error


async def test_a_thread_is_not_poisoned_by_a_turn_the_server_refused() -> None:
    """The regression of issue 13: a turn whose second call failed left its tool step in
    the history, the server refused that history, and every later turn failed too."""
    async with running_openai_server() as fake:
        fake.checks.append(like_llama_cpp_python)
        fake.enqueue(reply_tool_calls(("echo", {"text": "a"})), reply_error(500, "model crashed", headers=FAST),
                     reply_error(500, "model crashed", headers=FAST), reply_error(500, "model crashed", headers=FAST),
                     reply_text("Hello again."))
        llm = openai_llm(fake.base_url)
        engine = ReasoningEngine(llm, [EchoAgent()])
        async with fresh_ctx() as first_ctx:
            first = await engine.run(first_ctx, InputMessage(text="echo a"), [])
            assert first.status is MsgStatus.error
            assert [m.role for m in first.context] == ["user", "assistant"]
            second = await engine.run(first_ctx, InputMessage(text="hello"), [first.context])
        await llm.close()
        later = fake.requests[-1].body["messages"]
    assert second.status is MsgStatus.success
    assert [m["role"] for m in later] == ["system", "system", "user", "assistant", "user"]
    assert all(isinstance(m["content"], str) for m in later)


# streaming and live events ------------------------------------------------------------------


class EventLog:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.texts: list[str] = []

    def on_update(self, message: OutputMessage) -> None:
        self.texts.append(message.text())

    async def on_publish(self, message: OutputMessage) -> None:
        return None

    def on_event(self, message: OutputMessage, event: object) -> None:
        self.events.append(event)


async def test_the_answer_streams_into_its_card_and_tool_calls_are_events(ctx: AgentContext) -> None:
    log = EventLog()
    ctx.output.add_observer(log)
    answer = "I echoed hi; the card above shows it, and that is all for now."
    async with running_openai_server() as fake:
        fake.enqueue(reply_tool_calls(("echo", {"text": "hi"}, "call_e")), reply_text(answer))
        llm = openai_llm(fake.base_url)
        outcome = await ReasoningEngine(llm, [EchoAgent()]).run(ctx, InputMessage(text="echo hi"), [])
        await llm.close()

    assert outcome.status is MsgStatus.success
    assert [c.text for c in ctx.output.cards_of(TextCard)] == ["echo: hi", answer]
    deltas = [e for e in log.events if isinstance(e, TextDelta)]
    assert len(deltas) > 3 and "".join(d.delta for d in deltas) == answer
    assert {d.card_id for d in deltas} == {ctx.output.content[-1].id}
    growing = [t for t in log.texts if t.startswith("echo: hi\n\nI echoed")]
    assert len(set(growing)) > 3  # the card was updated as the text came in
    tools = [e for e in log.events if isinstance(e, (ToolCallStarted, ToolCallFinished))]
    assert tools == [ToolCallStarted("call_e", "echo", '{"text": "hi"}'),
                     ToolCallFinished("call_e", "echo", True, "echoed hi")]


async def test_text_before_a_tool_call_is_taken_back(ctx: AgentContext) -> None:
    log = EventLog()
    ctx.output.add_observer(log)
    async with running_openai_server() as fake:
        fake.enqueue(reply_tool_calls(("echo", {"text": "hi"}), content="Let me echo that for you first."),
                     reply_text("Done."))
        llm = openai_llm(fake.base_url)
        await ReasoningEngine(llm, [EchoAgent()]).run(ctx, InputMessage(text="echo hi"), [])
        await llm.close()

    assert [c.text for c in ctx.output.cards_of(TextCard)] == ["echo: hi", "Done."]
    discarded = [e for e in log.events if isinstance(e, TextDiscarded)]
    assert len(discarded) == 1
    assert any(isinstance(e, TextDelta) and e.card_id == discarded[0].card_id for e in log.events)


async def test_a_text_tool_call_is_run_and_never_shown(ctx: AgentContext) -> None:
    log = EventLog()
    ctx.output.add_observer(log)
    async with running_openai_server() as fake:
        fake.enqueue(reply_text_call("echo", {"text": "hi"}, "tool_call-tag"),
                     reply_text('{"tool": "answer", "arguments": {"text": "Echoed."}}'))
        llm = openai_llm(fake.base_url)
        outcome = await ReasoningEngine(llm, [EchoAgent()]).run(ctx, InputMessage(text="echo hi"), [])
        await llm.close()

    assert [c.text for c in ctx.output.cards_of(TextCard)] == ["echo: hi", "Echoed."]
    assert not any("{" in t or "tool_call" in t for t in log.texts)
    assert outcome.context[-1].content == "Echoed."


# a stable prompt prefix ---------------------------------------------------------------------


async def test_consecutive_turns_share_their_prompt_prefix(ctx: AgentContext) -> None:
    seen: list[list[ContextMessage]] = []

    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        seen.append(list(messages))
        return LLMResponse(content=f"answer {len(seen)}")

    engine = ReasoningEngine(ScriptedLLM(script), [EchoAgent()])
    first = await engine.run(ctx, InputMessage(text="hello"), [])
    await engine.run(ctx, InputMessage(text="and again"), [first.context])

    one, two = seen
    assert two[: len(one)] == one  # the whole first prompt is the start of the second
    assert [m.role for m in two] == ["system", "system", "user", "assistant", "user"]
    assert "collection is empty" in (two[1].content or "") and "collection" not in (two[0].content or "").lower()[:60]
    assert [m.content for m in first.context] == ["hello", "answer 1"]  # the overview is never stored
