"""A loopback OpenAI chat-completions server, scripted by the test.

The real `openai` client talks to it over HTTP, so what our code sends and how it
reacts to answers (tool calls, 429, 500, a hang) is tested end to end.

    async with running_openai_server() as fake:
        fake.enqueue(reply_tool_calls(("videos", {}), ("search", '{"q": "cat"}')))
        fake.enqueue(reply_text("Here you go."))
        llm = OpenAILLM(api_key="sk-test", model="m", base_url=fake.base_url, ...)
        ...
        assert fake.requests[1].body["messages"][-1]["role"] == "tool"

API (keep it small; the engine tests reuse it):
- `running_openai_server()`: async context manager; starts on 127.0.0.1, port 0.
- `FakeOpenAIServer.base_url` (ends in `/v1`), `.root_url` (no `/v1`; also served).
- `.enqueue(*replies)`: answer the next requests in order.
- `.handler = fn(request) -> Reply` (sync or async): used when the queue is empty.
  With neither, the server answers HTTP 400 "no scripted reply", which the client
  does not retry, so a test that forgot a reply fails fast and clearly.
- `.requests`: every `RecordedRequest(path, headers, body)` received, in order.
- `await .wait_for_requests(n)`: returns once n requests have arrived.
- Replies: `reply_text`, `reply_tool_calls`, `reply_error`, `reply_hang`, or
  `Reply(status, body, headers)` for anything else.
- Streaming: a request with `"stream": true` gets its (successful) reply as
  server-sent `chat.completion.chunk` events, the text and each tool call's
  arguments split into `chunk_chars`-sized deltas, as llama.cpp, vLLM and OpenAI
  send them. `Reply(chunks=[...])` sends exactly those chunk bodies instead;
  `.streams = False` makes the fake a server that ignores `stream` (plain JSON).

A `reply_hang()` handler waits on an event the server sets when it stops, so a
timeout test never leaves a long sleep behind.

Dialects of real servers, to script "the server" as well as "the model":
- `.checks`: functions `body -> Reply | None` run on each request before any
  scripted reply; the first Reply returned answers it (and no scripted reply is
  used). `like_llama_cpp_python` refuses `"content": null` with a 500 validation
  error; `like_llama_server` refuses tool-call arguments that are not JSON with a
  500; `refusing_tools(status, message)` refuses any request that offers tools.
- `reply_text_call(name, arguments, shape)`: the model wrote its call as text
  (no `tool_calls`), in one of `TEXT_CALL_SHAPES`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Union

from aiohttp import web

__all__ = [
    "FakeOpenAIServer",
    "RecordedRequest",
    "Reply",
    "chat_completion",
    "reply_error",
    "reply_hang",
    "reply_text",
    "reply_tool_calls",
    "running_openai_server",
    "stream_chunks",
    "TEXT_CALL_SHAPES",
    "like_llama_cpp_python",
    "like_llama_server",
    "refusing_tools",
    "reply_text_call",
]


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Reply:
    """What the fake answers: a status, a JSON body and headers, or a hang."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    chunks: list[dict[str, Any]] | None = None  # exact SSE chunk bodies for a streamed request


Handler = Callable[[RecordedRequest], Union[Reply, Awaitable[Reply]]]
ToolCallSpec = Union[tuple[str, Union[str, dict[str, Any]]], tuple[str, Union[str, dict[str, Any]], str]]


def chat_completion(
    message: dict[str, Any],
    *,
    finish_reason: str = "stop",
    model: str = "fake-model",
    prompt_tokens: int = 11,
    completion_tokens: int = 7,
) -> dict[str, Any]:
    """The documented `chat.completion` response body around one message."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def reply_text(content: str, **usage: Any) -> Reply:
    """A plain assistant answer."""
    return Reply(body=chat_completion({"role": "assistant", "content": content}, **usage))


def reply_tool_calls(*calls: ToolCallSpec, content: str | None = None, **usage: Any) -> Reply:
    """An answer with tool calls `(name, arguments[, id])`, all in one message (parallel).

    `arguments` given as a dict is JSON-encoded; a str is sent as is, so a test can
    send malformed JSON or an unknown tool name.
    """
    tool_calls = []
    for index, spec in enumerate(calls):
        name, arguments = spec[0], spec[1]
        call_id = spec[2] if len(spec) > 2 else f"call_{index}_{uuid.uuid4().hex[:8]}"  # type: ignore[misc]
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        tool_calls.append({"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}})
    message = {"role": "assistant", "content": content, "tool_calls": tool_calls}
    return Reply(body=chat_completion(message, finish_reason="tool_calls", **usage))


def reply_error(
    status: int,
    message: str = "fake error",
    *,
    headers: dict[str, str] | None = None,
    error_type: str = "server_error",
    code: str | None = None,
) -> Reply:
    """An error in OpenAI's shape: `{"error": {"message", "type", "code"}}`."""
    body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return Reply(status=status, body=body, headers=dict(headers or {}))


TEXT_CALL_SHAPES = ("fenced", "bare", "double-braced", "tool_call-tag", "function-tag")


def reply_text_call(name: str, arguments: dict[str, Any], shape: str = "fenced", prose: str = "") -> Reply:
    """A call written in the answer's text, as llama-server returns it from small models."""
    call = json.dumps({"name": name, "arguments": arguments})
    text = {
        "fenced": f"```json\n{call}\n```",
        "bare": call,
        "double-braced": "{" + call + "}",
        "tool_call-tag": f"<tool_call>\n{call}\n</tool_call>",
        "function-tag": f"<tools><function={name}>{json.dumps(arguments)}</function></tools>",
    }[shape]
    return reply_text(f"{prose}\n{text}" if prose else text)


Check = Callable[[dict[str, Any]], Union["Reply", None]]


def like_llama_cpp_python(body: dict[str, Any]) -> Reply | None:
    """llama-cpp-python's server: a message whose content is not a string is a 500."""
    for index, message in enumerate(body.get("messages") or []):
        if not isinstance(message.get("content"), str):
            return reply_error(500, f"1 validation error for ChatCompletionRequestAssistantMessage\nmessages.{index}."
                                    "content\n  Input should be a valid string", error_type="internal_server_error")
    return None


def like_llama_server(body: dict[str, Any]) -> Reply | None:
    """llama-server: tool-call arguments in the history must parse as JSON, or 500."""
    for message in body.get("messages") or []:
        for call in message.get("tool_calls") or []:
            try:
                json.loads(call["function"]["arguments"])
            except (KeyError, TypeError, json.JSONDecodeError):
                return reply_error(500, "Failed to parse tool call arguments as JSON: [json.exception.parse_error.101]")
    return None


def refusing_tools(status: int = 501, message: str = "tools param requires --jinja flag") -> Check:
    """A server (or launch flags) without tool calling: any request with `tools` is refused."""

    def check(body: dict[str, Any]) -> Reply | None:
        if body.get("tools"):
            return reply_error(status, message, error_type="not_supported_error")
        return None

    return check


def reply_hang() -> Reply:
    """Never answer (until the server stops)."""
    return Reply(hang=True)


def stream_chunks(completion: dict[str, Any], size: int = 8, *, include_usage: bool = False) -> list[dict[str, Any]]:
    """A `chat.completion` body as the `chat.completion.chunk` events a server streams."""
    base = {"id": completion.get("id", "chatcmpl-fake"), "object": "chat.completion.chunk",
            "created": completion.get("created", int(time.time())), "model": completion.get("model", "fake-model")}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    choices = completion.get("choices") or [{}]
    message = choices[0].get("message") or {}
    out = [chunk({"role": "assistant", "content": ""})]
    content = message.get("content") or ""
    out += [chunk({"content": content[i:i + size]}) for i in range(0, len(content), size)]
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") or {}
        head = {"index": index, "id": call.get("id"), "type": "function",
                "function": {"name": function.get("name"), "arguments": ""}}
        out.append(chunk({"tool_calls": [head]}))
        arguments = function.get("arguments") or ""
        out += [chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[i:i + size]}}]})
                for i in range(0, len(arguments), size)]
    out.append(chunk({}, choices[0].get("finish_reason") or "stop"))
    if include_usage and completion.get("usage"):
        out.append({**base, "choices": [], "usage": completion["usage"]})
    return out


class FakeOpenAIServer:
    """The scripted server; start it with `running_openai_server()`."""

    def __init__(self) -> None:
        self.streams = True
        self.checks: list[Check] = []
        self.chunk_chars = 8
        self.requests: list[RecordedRequest] = []
        self.handler: Handler | None = None
        self._queue: deque[Reply] = deque()
        self._released = asyncio.Event()
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.root_url = ""

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def enqueue(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    async def wait_for_requests(self, count: int) -> list[RecordedRequest]:
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests

    # lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_post("/chat/completions", self._chat_completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.root_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._released.set()  # let hanging handlers finish before cleanup waits on them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # handling -----------------------------------------------------------------

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = {"_unparsed": await request.text()}
        recorded = RecordedRequest(path=request.path, headers=dict(request.headers), body=body)
        async with self._arrived:
            self.requests.append(recorded)
            self._arrived.notify_all()
        reply = await self._next_reply(recorded)
        if reply.hang:
            await self._released.wait()
            return web.Response(status=503)
        if body.get("stream") is True and self.streams and reply.status == 200:
            chunks = reply.chunks if reply.chunks is not None else stream_chunks(
                reply.body or {}, self.chunk_chars, include_usage=bool((body.get("stream_options") or {}).get("include_usage")))
            return await self._sse(request, chunks, reply.headers)
        return web.json_response(reply.body or {}, status=reply.status, headers=reply.headers)

    @staticmethod
    async def _sse(request: web.Request, chunks: list[dict[str, Any]], headers: dict[str, str]) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream", **headers})
        await response.prepare(request)
        for chunk in chunks:
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _next_reply(self, recorded: RecordedRequest) -> Reply:
        for check in self.checks:
            refused = check(recorded.body)
            if refused is not None:
                return refused
        if self._queue:
            return self._queue.popleft()
        if self.handler is not None:
            result = self.handler(recorded)
            if inspect.isawaitable(result):
                result = await result
            return result
        return reply_error(400, "fake openai server: no scripted reply left", error_type="invalid_request_error")


@asynccontextmanager
async def running_openai_server() -> AsyncIterator[FakeOpenAIServer]:
    """Start a fake on 127.0.0.1 with an OS-picked port; stop it on exit."""
    server = FakeOpenAIServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
