"""OpenAILLM with the real AsyncOpenAI client against the loopback fake."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from core.errors import LLMError, LLMTimeout
from core.llm.base import ToolSpec
from core.llm.openai_llm import OpenAILLM
from core.messages import ContextMessage, ToolCall
from tests.fakes.openai_server import (
    FakeOpenAIServer,
    Reply,
    chat_completion,
    reply_error,
    reply_hang,
    reply_text,
    reply_tool_calls,
)

API_KEY = "sk-test-SECRET-0123456789abcdef"
PROMPT = "find the cat video please"

VIDEOS = ToolSpec(name="videos", description="List videos.", parameters={"type": "object", "properties": {}})
SEARCH = ToolSpec(
    name="search",
    description="Search spoken words.",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
)


def _llm(server: FakeOpenAIServer, **overrides: object) -> OpenAILLM:
    options: dict[str, object] = {
        "api_key": API_KEY,
        "model": "fake-model",
        "base_url": server.base_url,
        "timeout_s": 5.0,
        "max_retries": 2,
        "backoff_base_s": 0.01,
    }
    options.update(overrides)
    return OpenAILLM(**options)  # type: ignore[arg-type]


@pytest.fixture
async def llm(openai_server: FakeOpenAIServer) -> AsyncIterator[OpenAILLM]:
    client = _llm(openai_server)
    yield client
    await client.close()


def _conversation() -> list[ContextMessage]:
    return [ContextMessage.system("You are a video assistant."), ContextMessage.user(PROMPT)]


# answers ----------------------------------------------------------------------------------


async def test_text_answer(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_text("Here are your videos.", prompt_tokens=42, completion_tokens=5))

    response = await llm.chat(_conversation())

    assert response.content == "Here are your videos."
    assert response.tool_calls == []
    assert response.finish_reason == "stop"
    assert (response.prompt_tokens, response.completion_tokens) == (42, 5)
    [request] = openai_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "fake-model"
    assert request.body["messages"] == [
        {"role": "system", "content": "You are a video assistant."},
        {"role": "user", "content": PROMPT},
    ]
    assert "tools" not in request.body
    assert "parallel_tool_calls" not in request.body


async def test_one_tool_call(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_tool_calls(("search", {"query": "cat"}, "call_1")))

    response = await llm.chat(_conversation(), tools=[VIDEOS, SEARCH])

    assert response.content is None
    assert response.finish_reason == "tool_calls"
    assert response.tool_calls == [ToolCall(id="call_1", name="search", arguments='{"query": "cat"}')]
    body = openai_server.requests[0].body
    assert body["parallel_tool_calls"] is True
    assert body["tools"] == [
        {"type": "function", "function": {"name": "videos", "description": "List videos.", "parameters": VIDEOS.parameters}},
        {"type": "function", "function": {"name": "search", "description": "Search spoken words.", "parameters": SEARCH.parameters}},
    ]


async def test_two_parallel_tool_calls_keep_order_and_ids(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_tool_calls(("videos", {}, "call_a"), ("search", {"query": "cat"}, "call_b")))

    response = await llm.chat(_conversation(), tools=[VIDEOS, SEARCH])

    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_a", "videos", "{}"),
        ("call_b", "search", '{"query": "cat"}'),
    ]


async def test_tool_results_round_trip_in_openai_shape(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    first, second = ToolCall(id="call_a", name="videos", arguments="{}"), ToolCall(
        id="call_b", name="search", arguments='{"query": "cat"}'
    )
    history = [
        *_conversation(),
        ContextMessage.assistant(None, [first, second]),
        ContextMessage.tool(first, '{"videos": ["cats.mp4"]}'),
        ContextMessage.tool(second, '{"hits": 2}'),
    ]
    openai_server.enqueue(reply_text("Found 2 moments in cats.mp4."))

    response = await llm.chat(history, tools=[VIDEOS, SEARCH])

    assert response.content == "Found 2 moments in cats.mp4."
    assert openai_server.requests[0].body["messages"][2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "videos", "arguments": "{}"}},
                {"id": "call_b", "type": "function", "function": {"name": "search", "arguments": '{"query": "cat"}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": '{"videos": ["cats.mp4"]}'},
        {"role": "tool", "tool_call_id": "call_b", "content": '{"hits": 2}'},
    ]


async def test_malformed_arguments_and_unknown_tools_pass_through_raw(
    llm: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(reply_tool_calls(("search", '{"query": "cat"', "call_x"), ("teleport", "{}", "call_y")))

    response = await llm.chat(_conversation(), tools=[SEARCH])

    assert response.tool_calls == [
        ToolCall(id="call_x", name="search", arguments='{"query": "cat"'),
        ToolCall(id="call_y", name="teleport", arguments="{}"),
    ]


async def test_missing_usage_and_tool_call_ids_are_tolerated(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    body = chat_completion(
        {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {"name": "videos", "arguments": ""}}]},
        finish_reason="tool_calls",
    )
    del body["usage"]
    openai_server.enqueue(Reply(body=body))

    response = await llm.chat(_conversation(), tools=[VIDEOS])

    [call] = response.tool_calls
    assert call.id and call.name == "videos" and call.arguments == "{}"
    assert response.prompt_tokens is None and response.completion_tokens is None


async def test_base_url_without_v1_is_served(openai_server: FakeOpenAIServer) -> None:
    llm = _llm(openai_server, base_url=openai_server.root_url)
    openai_server.enqueue(reply_text("ok"))
    try:
        assert (await llm.chat(_conversation())).content == "ok"
    finally:
        await llm.close()
    assert openai_server.requests[0].path == "/chat/completions"


# retries ----------------------------------------------------------------------------------


async def test_429_honours_retry_after_then_succeeds(openai_server: FakeOpenAIServer) -> None:
    llm = _llm(openai_server, backoff_base_s=0.0)
    openai_server.enqueue(reply_error(429, "slow down", headers={"Retry-After": "0.2"}, error_type="rate_limit"))
    openai_server.enqueue(reply_text("done"))
    try:
        started = time.monotonic()
        response = await llm.chat(_conversation())
        elapsed = time.monotonic() - started
    finally:
        await llm.close()

    assert response.content == "done"
    assert len(openai_server.requests) == 2
    assert elapsed >= 0.2


async def test_429_honours_retry_after_ms(openai_server: FakeOpenAIServer) -> None:
    llm = _llm(openai_server, backoff_base_s=0.0)
    openai_server.enqueue(reply_error(429, headers={"retry-after-ms": "150", "Retry-After": "0"}))
    openai_server.enqueue(reply_text("done"))
    try:
        started = time.monotonic()
        await llm.chat(_conversation())
        elapsed = time.monotonic() - started
    finally:
        await llm.close()

    assert len(openai_server.requests) == 2
    assert elapsed >= 0.15


async def test_retry_after_is_capped(openai_server: FakeOpenAIServer) -> None:
    llm = _llm(openai_server, max_wait_s=0.05)
    openai_server.enqueue(reply_error(503, headers={"Retry-After": "3600"}), reply_text("done"))
    try:
        async with asyncio.timeout(10):  # an uncapped wait would be an hour
            response = await llm.chat(_conversation())
    finally:
        await llm.close()

    assert response.content == "done"
    assert len(openai_server.requests) == 2


async def test_500_then_success(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_error(500, "boom"), reply_text("recovered"))

    response = await llm.chat(_conversation())

    assert response.content == "recovered"
    assert len(openai_server.requests) == 2


async def test_persistent_500_raises_llm_error_after_the_retry_budget(
    llm: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.handler = lambda request: reply_error(500, "boom")

    with pytest.raises(LLMError) as caught:
        await llm.chat(_conversation())

    assert len(openai_server.requests) == 3  # 1 try + max_retries=2
    assert "HTTP 500" in caught.value.user_message
    assert "3 attempts" in caught.value.user_message


async def test_insufficient_quota_is_not_retried(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_error(429, "You exceeded your quota", code="insufficient_quota"))

    with pytest.raises(LLMError, match="quota"):
        await llm.chat(_conversation())

    assert len(openai_server.requests) == 1


# failures without retry ----------------------------------------------------------------------


async def test_timeout_raises_llm_timeout(openai_server: FakeOpenAIServer) -> None:
    llm = _llm(openai_server, timeout_s=0.3)
    openai_server.handler = lambda request: reply_hang()
    try:
        with pytest.raises(LLMTimeout) as caught:
            await llm.chat(_conversation())
    finally:
        await llm.close()

    assert "0.3 seconds" in caught.value.user_message
    assert len(openai_server.requests) == 1


async def test_401_raises_without_retry_and_hides_the_key(
    llm: OpenAILLM, openai_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Like OpenAI, the fake echoes the key it was given.
    openai_server.enqueue(
        reply_error(401, f"Incorrect API key provided: {API_KEY}.", error_type="invalid_request_error", code="invalid_api_key")
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(LLMError) as caught:
        await llm.chat(_conversation())

    assert not isinstance(caught.value, LLMTimeout)
    assert len(openai_server.requests) == 1
    assert "HTTP 401" in caught.value.user_message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert API_KEY not in str(caught.value)
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(llm)


async def test_bad_request_message_is_scrubbed(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_error(400, f"context too long for key {API_KEY}", error_type="invalid_request_error"))

    with pytest.raises(LLMError) as caught:
        await llm.chat(_conversation())

    assert "context too long" in caught.value.user_message
    assert API_KEY not in caught.value.user_message
    assert len(openai_server.requests) == 1


async def test_unreachable_server_raises_llm_error(openai_server: FakeOpenAIServer) -> None:
    root = openai_server.root_url
    await openai_server.stop()  # nothing listens on that port any more
    llm = _llm(openai_server, base_url=root, max_retries=1)
    try:
        with pytest.raises(LLMError, match="couldn't reach"):
            await llm.chat(_conversation())
    finally:
        await llm.close()


@pytest.mark.parametrize(
    "body",
    [
        {"nonsense": True},
        {"choices": "bad"},
        {"choices": [{"message": {"tool_calls": [{"type": "function", "function": {}}]}}]},
    ],
)
async def test_an_unreadable_completion_raises_llm_error(
    llm: OpenAILLM, openai_server: FakeOpenAIServer, body: dict[str, object]
) -> None:
    openai_server.enqueue(Reply(body=body))

    with pytest.raises(LLMError):
        await llm.chat(_conversation())


# logging ---------------------------------------------------------------------------------


async def test_logs_model_latency_and_tokens_but_no_prompt_at_info(
    llm: OpenAILLM, openai_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.enqueue(reply_text("hi", prompt_tokens=42, completion_tokens=5))
    caplog.set_level(logging.INFO, logger="core.llm.openai_llm")

    await llm.chat(_conversation())

    [record] = [r for r in caplog.records if r.levelno == logging.INFO]
    message = record.getMessage()
    assert "model=fake-model" in message and "prompt_tokens=42" in message and "completion_tokens=5" in message
    assert "latency_ms=" in message
    assert PROMPT not in caplog.text

