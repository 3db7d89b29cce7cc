"""Each server dialect of issue 13, against the real openai client and the loopback fake
scripted as that server: text tool calls, strict content, no tool support, json mode."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel, Field

from core.errors import LLMError
from core.llm.base import ToolSpec
from core.llm.openai_llm import OpenAILLM
from core.messages import ContextMessage, ToolCall
from tests.fakes.openai_server import (
    TEXT_CALL_SHAPES,
    FakeOpenAIServer,
    like_llama_cpp_python,
    like_llama_server,
    refusing_tools,
    reply_error,
    reply_text,
    reply_text_call,
    reply_tool_calls,
)


class SearchParams(BaseModel):
    query: str = Field(min_length=1, description="Words to find.")


class NoParams(BaseModel):
    pass


SEARCH = ToolSpec.from_model("search", "Find where words are said.", SearchParams)
VIDEOS = ToolSpec.from_model("videos", "List the videos.", NoParams)
TOOLS = [SEARCH, VIDEOS]


def make_llm(server: FakeOpenAIServer, tool_mode: str = "auto") -> OpenAILLM:
    return OpenAILLM(api_key="sk-local", model="qwen2.5-coder-1.5b", base_url=server.base_url, timeout_s=5,
                     max_retries=2, tool_mode=tool_mode)  # type: ignore[arg-type]


@pytest.fixture
async def native(openai_server: FakeOpenAIServer) -> AsyncIterator[OpenAILLM]:
    llm = make_llm(openai_server, "native")
    yield llm
    await llm.close()


@pytest.fixture
async def auto(openai_server: FakeOpenAIServer) -> AsyncIterator[OpenAILLM]:
    llm = make_llm(openai_server, "auto")
    yield llm
    await llm.close()


def ask() -> list[ContextMessage]:
    return [ContextMessage.system("You are Director."), ContextMessage.user("where do they talk about revenue?")]


def with_a_tool_step() -> list[ContextMessage]:
    call = ToolCall(id="call_1", name="search", arguments='{"query": "revenue"}')
    return [*ask(), ContextMessage.assistant(None, [call]), ContextMessage.tool(call, '{"status": "success"}')]


# text tool calls ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", TEXT_CALL_SHAPES)
async def test_a_call_written_as_text_becomes_a_tool_call(
    native: OpenAILLM, openai_server: FakeOpenAIServer, shape: str
) -> None:
    openai_server.enqueue(reply_text_call("search", {"query": "revenue"}, shape))

    response = await native.chat(ask(), TOOLS)

    assert [(c.name, json.loads(c.arguments)) for c in response.tool_calls] == [("search", {"query": "revenue"})]
    assert response.content is None and response.calls_from_text


async def test_a_text_call_of_an_unknown_tool_is_not_shown_and_not_run(
    native: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(reply_text_call("upload_video", {"file": "talk.mp4"}))

    response = await native.chat(ask(), TOOLS)

    assert response.tool_calls == [] and response.content is None
    assert response.rejected_calls == ["there is no tool 'upload_video'"]


async def test_plain_prose_stays_the_answer(native: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_text("They talk about revenue at 0:31."))
    response = await native.chat(ask(), TOOLS)
    assert response.content == "They talk about revenue at 0:31." and response.tool_calls == []


# strict servers -------------------------------------------------------------------------------


async def test_llama_cpp_python_accepts_our_tool_steps(native: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.checks.append(like_llama_cpp_python)
    openai_server.enqueue(reply_text("Found it."))

    assert (await native.chat(with_a_tool_step(), TOOLS)).content == "Found it."
    assert len(openai_server.requests) == 1


async def test_llama_server_accepts_our_history_even_after_malformed_arguments(
    native: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.checks.append(like_llama_server)
    call = ToolCall(id="call_1", name="search", arguments='{"query": "rev')  # what the model once sent
    history = [*ask(), ContextMessage.assistant(None, [call]), ContextMessage.tool(call, '{"status": "error"}')]
    openai_server.enqueue(reply_text("Let me try again."))

    assert (await native.chat(history, TOOLS)).content == "Let me try again."


async def test_an_empty_answer_in_the_history_goes_out_as_a_string(
    native: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.checks.append(like_llama_cpp_python)
    openai_server.enqueue(reply_text("ok"))

    assert (await native.chat([*ask(), ContextMessage.assistant(None), ContextMessage.user("again")], TOOLS)).content == "ok"
    assert openai_server.requests[0].body["messages"][2] == {"role": "assistant", "content": ""}


# servers without tool calling: json mode ---------------------------------------------------------


async def test_auto_switches_to_json_mode_once_the_model_writes_calls_as_text(
    auto: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(reply_text_call("search", {"query": "revenue"}, "tool_call-tag"),
                          reply_text(json.dumps({"tool": "answer", "arguments": {"text": "At 0:31."}})))

    first = await auto.chat(ask(), TOOLS)
    second = await auto.chat(with_a_tool_step(), TOOLS)

    assert [c.name for c in first.tool_calls] == ["search"]
    assert second.content == "At 0:31." and second.tool_calls == []
    native_body, json_body = (r.body for r in openai_server.requests)
    assert native_body["tools"] and native_body["tool_choice"] == "auto"
    assert "tools" not in json_body and "tool_choice" not in json_body
    schema = json_body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["tool"]["enum"] == ["search", "videos", "answer"]
    assert schema["required"] == ["tool", "arguments"]


async def test_json_mode_replays_tool_steps_as_text(openai_server: FakeOpenAIServer) -> None:
    llm = make_llm(openai_server, "json")
    openai_server.checks += [like_llama_cpp_python, refusing_tools()]
    openai_server.enqueue(reply_text('{"tool": "videos", "arguments": {}}'))
    try:
        response = await llm.chat([*with_a_tool_step(), ContextMessage.system("Stop soon.")], TOOLS)
    finally:
        await llm.close()

    assert [(c.name, c.arguments) for c in response.tool_calls] == [("videos", "{}")]
    messages = openai_server.requests[0].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert '"name": "search"' in messages[0]["content"] and "exactly one JSON object" in messages[0]["content"]
    assert json.loads(messages[2]["content"]) == {"tool": "search", "arguments": {"query": "revenue"}}
    assert messages[3]["content"].startswith("Result of search: ") and "[Note: Stop soon.]" in messages[3]["content"]
    assert all("tool_calls" not in m and m["role"] != "tool" for m in messages)


async def test_json_mode_answers_and_refusals(openai_server: FakeOpenAIServer) -> None:
    llm = make_llm(openai_server, "json")
    openai_server.enqueue(reply_text('{"tool": "answer", "arguments": {"text": "Two videos."}}'),
                          reply_text('{"tool": "search", "arguments": {}}'),
                          reply_text("Plain words, not JSON."))
    try:
        answer, refused, plain = [await llm.chat(ask(), TOOLS) for _ in range(3)]
    finally:
        await llm.close()

    assert answer.content == "Two videos." and answer.tool_calls == []
    assert refused.tool_calls == [] and refused.content is None and "query" in refused.rejected_calls[0]
    assert plain.content == "Plain words, not JSON."


async def test_auto_asks_again_in_json_mode_when_a_text_call_is_unusable(
    auto: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(reply_text_call("search_videos", {"q": "revenue"}),
                          reply_text('{"tool": "search", "arguments": {"query": "revenue"}}'))

    response = await auto.chat(ask(), TOOLS)

    assert [(c.name, json.loads(c.arguments)) for c in response.tool_calls] == [("search", {"query": "revenue"})]
    assert "response_format" in openai_server.requests[1].body


@pytest.mark.parametrize(
    ("status", "message"),
    [(501, "tools param requires --jinja flag"),
     (400, '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'),
     (400, "registry.ollama.ai/library/gemma:2b does not support tools")],
    ids=["llama-server-without-jinja", "vllm-without-auto-tool-choice", "ollama-model-without-tools"],
)
async def test_a_server_that_refuses_tools_gets_json_mode_in_auto(
    auto: OpenAILLM, openai_server: FakeOpenAIServer, status: int, message: str
) -> None:
    openai_server.checks.append(refusing_tools(status, message))
    openai_server.enqueue(reply_text('{"tool": "videos", "arguments": {}}'))

    response = await auto.chat(ask(), TOOLS)

    assert [c.name for c in response.tool_calls] == ["videos"]
    assert len(openai_server.requests) == 2 and "tools" not in openai_server.requests[1].body


async def test_native_mode_says_what_to_do_when_tools_are_refused(
    native: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.checks.append(refusing_tools())

    with pytest.raises(LLMError, match="HTTP 501"):
        await native.chat(ask(), TOOLS)
    assert len(openai_server.requests) == 1


async def test_native_tool_calls_keep_auto_in_native_mode(auto: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_tool_calls(("videos", {})), reply_text("Done."))

    await auto.chat(ask(), TOOLS)
    await auto.chat(with_a_tool_step(), TOOLS)

    assert all("tools" in r.body for r in openai_server.requests) and not auto.json_mode


async def test_a_server_that_refuses_both_modes_fails_once_with_a_clear_error(
    auto: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.handler = lambda request: reply_error(400, "tools and response_format are not supported")

    with pytest.raises(LLMError, match="HTTP 400"):
        await auto.chat(ask(), TOOLS)
    assert len(openai_server.requests) == 2  # native, then json: no loop
