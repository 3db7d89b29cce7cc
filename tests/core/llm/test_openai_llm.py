"""OpenAILLM with the real AsyncOpenAI client against the loopback fake: requests,
answers, the SDK's retries (and what is never retried), errors, streaming, logging."""

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
FAST = {"retry-after-ms": "1"}  # the SDK honours it: retries without the default backoff

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
        "tool_mode": "native",
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
    assert request.body == {
        "model": "fake-model",
        "max_tokens": 512,
        "messages": [
            {"role": "system", "content": "You are a video assistant."},
            {"role": "user", "content": PROMPT},
        ],
    }


async def test_one_tool_call_sends_tool_choice_auto(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_tool_calls(("search", {"query": "cat"}, "call_1")))

    response = await llm.chat(_conversation(), tools=[VIDEOS, SEARCH])

    assert response.content is None
    assert response.finish_reason == "tool_calls"
    assert response.tool_calls == [ToolCall(id="call_1", name="search", arguments='{"query": "cat"}')]
    body = openai_server.requests[0].body
    assert body["tool_choice"] == "auto"
    assert "parallel_tool_calls" not in body  # OpenAI's own field goes to OpenAI only
    assert body["tools"] == [
        {"type": "function", "function": {"name": "videos", "description": "List videos.", "parameters": VIDEOS.parameters}},
        {"type": "function", "function": {"name": "search", "description": "Search spoken words.", "parameters": SEARCH.parameters}},
    ]


async def test_openai_itself_gets_its_own_fields(openai_server: FakeOpenAIServer) -> None:
    llm = _llm(openai_server)
    llm.is_openai, llm.parallel_tool_calls = True, True  # as for base_url=None; the fake stands in
    openai_server.enqueue(reply_text("ok"))
    try:
        await llm.chat(_conversation(), tools=[VIDEOS])
    finally:
        await llm.close()
    body = openai_server.requests[0].body
    assert body["parallel_tool_calls"] is True and body["max_completion_tokens"] == 512 and "max_tokens" not in body


async def test_two_parallel_tool_calls_keep_order_and_ids(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_tool_calls(("videos", {}, "call_a"), ("search", {"query": "cat"}, "call_b")))

    response = await llm.chat(_conversation(), tools=[VIDEOS, SEARCH])

    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_a", "videos", "{}"),
        ("call_b", "search", '{"query": "cat"}'),
    ]


async def test_tool_steps_go_out_with_string_content_and_json_arguments(
    llm: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    first = ToolCall(id="call_a", name="videos", arguments="{}")
    second = ToolCall(id="call_b", name="search", arguments='{"query": "cat"')  # the model's malformed JSON
    history = [
        *_conversation(),
        ContextMessage.assistant(None, [first, second]),
        ContextMessage.tool(first, '{"videos": ["cats.mp4"]}'),
        ContextMessage.tool(second, '{"status": "error"}'),
    ]
    openai_server.enqueue(reply_text("Found cats.mp4."))

    await llm.chat(history, tools=[VIDEOS, SEARCH])

    assert openai_server.requests[0].body["messages"][2:] == [
        {
            "role": "assistant",
            "content": "",  # never null: llama-cpp-python answers 500 to null
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "videos", "arguments": "{}"}},
                {"id": "call_b", "type": "function", "function": {"name": "search", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": '{"videos": ["cats.mp4"]}'},
        {"role": "tool", "tool_call_id": "call_b", "content": '{"status": "error"}'},
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


async def test_summaries_get_a_larger_token_budget(openai_server: FakeOpenAIServer) -> None:
    llm = _llm(openai_server, max_tokens=300, text_max_tokens=1200)
    openai_server.enqueue(reply_text("step"), reply_text("A summary."))
    try:
        await llm.chat(_conversation(), tools=[VIDEOS])
        assert await llm.complete("Summarise.", "transcript…") == "A summary."
    finally:
        await llm.close()
    assert [r.body["max_tokens"] for r in openai_server.requests] == [300, 1200]


# retries: the SDK's own -------------------------------------------------------------------


async def test_429_honours_retry_after_then_succeeds(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_error(429, "slow down", headers={"Retry-After": "0.2"}, error_type="rate_limit"))
    openai_server.enqueue(reply_text("done"))
    started = time.monotonic()
    response = await llm.chat(_conversation())
    elapsed = time.monotonic() - started

    assert response.content == "done"
    assert len(openai_server.requests) == 2
    assert elapsed >= 0.2


async def test_429_honours_retry_after_ms(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_error(429, headers={"retry-after-ms": "150", "Retry-After": "0"}))
    openai_server.enqueue(reply_text("done"))
    started = time.monotonic()
    await llm.chat(_conversation())
    elapsed = time.monotonic() - started

    assert len(openai_server.requests) == 2
    assert elapsed >= 0.15


async def test_a_retry_after_beyond_two_minutes_is_not_waited_for(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_error(503, headers={"Retry-After": "3600"}), reply_text("done"))
    async with asyncio.timeout(10):  # waiting would take an hour
        with pytest.raises(LLMError, match="HTTP 503"):
            await llm.chat(_conversation())
    assert len(openai_server.requests) == 1


async def test_500_then_success(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_error(500, "boom", headers=FAST), reply_text("recovered"))

    response = await llm.chat(_conversation())

    assert response.content == "recovered"
    assert len(openai_server.requests) == 2


async def test_persistent_500_raises_llm_error_after_the_retry_budget(
    llm: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.handler = lambda request: reply_error(500, "boom", headers=FAST)

    with pytest.raises(LLMError) as caught:
        await llm.chat(_conversation())

    assert len(openai_server.requests) == 3  # 1 try + max_retries=2
    assert "HTTP 500" in caught.value.user_message
    assert "3 attempts" in caught.value.user_message


@pytest.mark.parametrize(
    "reply",
    [
        # llama-cpp-python, refusing `"content": null`
        reply_error(500, "1 validation error for ChatCompletionRequestAssistantMessage\ncontent\n  Input should be "
                         "a valid string", error_type="internal_server_error", headers=FAST),
        # llama-server, refusing a message its template cannot render
        reply_error(500, "[json.exception.type_error.302] type must be string, but is null", headers=FAST),
        reply_error(500, "can only concatenate str (not \"NoneType\") to str", headers=FAST),
        reply_error(501, "This server does not support this feature", headers=FAST),
        reply_error(400, "messages: field required", error_type="invalid_request_error", headers=FAST),
        reply_error(422, "Unprocessable Entity", headers=FAST),
    ],
    ids=["llama-cpp-python", "llama-server", "template", "501", "400", "422"],
)
async def test_requests_that_cannot_succeed_are_not_retried(
    llm: OpenAILLM, openai_server: FakeOpenAIServer, reply: Reply
) -> None:
    openai_server.handler = lambda request: reply

    with pytest.raises(LLMError) as caught:
        await llm.chat(_conversation())

    assert len(openai_server.requests) == 1
    assert f"HTTP {reply.status}" in caught.value.user_message
    assert "kept failing" not in caught.value.user_message


async def test_insufficient_quota_is_not_retried(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.handler = lambda request: reply_error(429, "You exceeded your quota", code="insufficient_quota",
                                                        headers=FAST)

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
        with pytest.raises(LLMError, match="couldn't reach the language model service after 2 attempts"):
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


# streaming -----------------------------------------------------------------------------------


async def test_streamed_text_arrives_in_pieces_and_in_full(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    answer = "Revenue comes up at 0:31, where the speaker says it grew forty percent."
    openai_server.enqueue(reply_text(answer))
    pieces: list[str] = []

    response = await llm.chat_stream(_conversation(), [SEARCH], pieces.append)

    assert response.content == answer
    assert len(pieces) > 3 and "".join(pieces) == answer
    assert openai_server.requests[0].body["stream"] is True
    assert "stream_options" not in openai_server.requests[0].body  # OpenAI's own field


async def test_streamed_tool_calls_are_accumulated(llm: OpenAILLM, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(reply_tool_calls(("videos", {}, "call_a"), ("search", {"query": "quarterly revenue"}, "call_b")))
    pieces: list[str] = []

    response = await llm.chat_stream(_conversation(), [VIDEOS, SEARCH], pieces.append)

    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_a", "videos", "{}"), ("call_b", "search", '{"query": "quarterly revenue"}')]
    assert pieces == []


async def test_a_tool_call_written_as_text_never_streams_to_the_person(
    llm: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(reply_text('Let me look.\n```json\n{"name": "search", "arguments": {"query": "cat"}}\n```'))
    pieces: list[str] = []

    response = await llm.chat_stream(_conversation(), [SEARCH], pieces.append)

    assert "".join(pieces) == "Let me look."
    assert [(c.name, c.arguments) for c in response.tool_calls] == [("search", '{"query": "cat"}')]


async def test_a_server_that_ignores_stream_is_asked_again_without(
    llm: OpenAILLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.streams = False
    openai_server.enqueue(reply_text("first"), reply_text("plain answer"))

    response = await llm.chat_stream(_conversation(), None, lambda delta: None)

    assert response.content == "plain answer"
    assert [r.body.get("stream") for r in openai_server.requests] == [True, None]
    assert llm.can_stream is False


async def test_stream_usage_is_asked_of_openai(openai_server: FakeOpenAIServer) -> None:
    llm = _llm(openai_server)
    llm.is_openai = True
    openai_server.enqueue(reply_text("hello there", prompt_tokens=40, completion_tokens=3))
    try:
        response = await llm.chat_stream(_conversation(), None, lambda delta: None)
    finally:
        await llm.close()
    assert openai_server.requests[0].body["stream_options"] == {"include_usage": True}
    assert (response.prompt_tokens, response.completion_tokens) == (40, 3)


# logging ---------------------------------------------------------------------------------


async def test_logs_model_latency_and_tokens_but_no_prompt_at_info(
    llm: OpenAILLM, openai_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.enqueue(reply_text("hi", prompt_tokens=42, completion_tokens=5))
    caplog.set_level(logging.INFO, logger="core.llm.openai_llm")

    await llm.chat(_conversation())

    [record] = [r for r in caplog.records if r.levelno == logging.INFO and r.name == "core.llm.openai_llm"]
    message = record.getMessage()
    assert "model=fake-model" in message and "prompt_tokens=42" in message and "completion_tokens=5" in message
    assert "latency_ms=" in message and "attempts=1" in message
    assert PROMPT not in caplog.text
