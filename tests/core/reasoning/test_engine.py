"""The reasoning engine: the tool loop, concurrency, tool errors, recovery, limits.

"The LLM" is either a ScriptedLLM (a plain function) or the real AsyncOpenAI client
talking to the loopback fake; agents here are small real BaseAgents defined for the
test; videos come from the real local backend (an empty collection is enough).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
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
from core.session import CollectionScope, Session
from core.storage.database import create_engine, migrate, session_factory
from core.video.local.backend import LocalBackend
from tests.fakes.openai_server import reply_error, reply_hang, reply_text, reply_tool_calls, running_openai_server


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


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[AgentContext]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'e.db'}")
    await migrate(engine)
    backend = LocalBackend(session_factory(engine), tmp_path, lambda: "http://127.0.0.1:1",
                           max_upload_bytes=10_000_000)
    collection = await backend.create_collection("test #c")
    session = Session(id="s1", key=ThreadKey(platform="test", workspace_id="w", channel_id="c", thread_id="t"),
                      collection=CollectionScope(backend, collection.id))
    yield AgentContext(session=session, output=OutputMessage(), llm=ScriptedLLM(lambda m, t: LLMResponse()))
    await engine.dispose()


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
    assert "collection is empty" in (seen[0][-1].content or "") and "clip the second hit" in (seen[0][-1].content or "")


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
