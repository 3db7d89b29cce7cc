"""`BaseLLM` on the chat-completions API: OpenAI, and servers that speak it (llama.cpp,
Ollama, vLLM, LM Studio), each with its own dialect.

- Retries are the SDK's own (`max_retries`: 408/409/429/5xx and connection errors,
  exponential backoff, `retry-after`/`retry-after-ms` honoured up to 2 minutes).
  `openai_retry.RetryPolicyTransport` stops it retrying what cannot succeed (a 500
  that is a validation error, a 501, an exhausted quota). This module maps failures
  to `LLMError`/`LLMTimeout` messages that are safe to show in a thread (never the
  API key, never the prompt).
- `timeout_s` bounds one call, retries included (a timeout itself is not retried:
  a model that kept a person waiting that long once will likely do it again). When
  streaming, it bounds the wait for the first chunk and for each next one instead.
- Every call carries `max_tokens` (planning `max_tokens`, summaries `text_max_tokens`).
- Tool modes (`tool_mode`): `native` sends `tools` with `tool_choice: "auto"` and reads
  `tool_calls`, or calls written as text; `json` never sends `tools` and asks for one
  JSON step object (see `openai_wire`); `auto` starts native and switches to json for
  good once the server refuses tools or the model writes its calls as text.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any, Literal

import httpx
from openai import APIConnectionError, APIStatusError, APITimeoutError, AsyncOpenAI, DefaultAsyncHttpxClient, OpenAIError
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion

from core.errors import LLMError, LLMTimeout
from core.llm.base import BaseLLM, LLMResponse, TextSink, ToolSpec
from core.llm.openai_retry import RetryPolicyTransport, counting_attempts
from core.llm.openai_wire import from_json_step, json_mode_format, json_mode_messages, to_llm_response, \
    to_openai_message, to_openai_tool
from core.llm.text_tool_calls import ProseGate
from core.messages import ContextMessage

log = logging.getLogger(__name__)

ToolMode = Literal["auto", "native", "json"]
RETRYABLE_STATUS = frozenset({408, 409, 429})
_KEY_PATTERN = re.compile(r"\bsk-[A-Za-z0-9*_\-.]{4,}|\bBearer\s+\S+", re.IGNORECASE)
_UNREADABLE = "The language model service sent an answer I couldn't read."


class _ToolsRefused(Exception):
    """The server refused a request because it offered tools (or a response_format)."""

    def __init__(self, error: LLMError) -> None:
        self.error = error


class _NoStream(Exception):
    """The server answered a streamed request with no chunks at all."""


class OpenAILLM(BaseLLM):
    """Chat with tool calling through `AsyncOpenAI`; `base_url=None` means OpenAI itself."""

    can_stream = True

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        tool_mode: ToolMode = "auto",
        max_tokens: int = 512,
        text_max_tokens: int = 1500,
        parallel_tool_calls: bool | None = None,
        label: str = "openai",
    ) -> None:
        self.name = label
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.tool_mode: ToolMode = tool_mode
        self.max_tokens = max_tokens
        self.text_max_tokens = text_max_tokens
        self._api_key = api_key
        self._client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=max_retries,
            # Our asyncio timeouts fire first; this only bounds a connection that never answers.
            http_client=DefaultAsyncHttpxClient(transport=RetryPolicyTransport(),
                                                timeout=httpx.Timeout(timeout_s + 5.0)),
        )
        # The SDK imports its chat resources (hundreds of pydantic types, ~3 s of CPU) on
        # first use: at start-up, not in the first person's turn.
        self._completions = self._client.chat.completions
        self.is_openai = self._client.base_url.host == "api.openai.com"
        # OpenAI-only fields are sent to OpenAI only: a compatible server may refuse them.
        self.parallel_tool_calls = parallel_tool_calls if parallel_tool_calls is not None else (
            True if self.is_openai else None)
        self.json_mode = tool_mode == "json"
        self._refused: set[str] = set()  # tool modes this server refused (auto mode tries the other)

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAILLM(label={self.name!r}, model={self.model!r}, base_url={self.base_url!r})"

    async def close(self) -> None:
        await self._client.close()

    # the interface -----------------------------------------------------------------------

    async def chat(self, messages: list[ContextMessage], tools: list[ToolSpec] | None = None) -> LLMResponse:
        return await self._call(messages, tools, None, self.max_tokens)

    async def chat_stream(self, messages: list[ContextMessage], tools: list[ToolSpec] | None,
                          on_text: TextSink) -> LLMResponse:
        return await self._call(messages, tools, on_text, self.max_tokens)

    async def complete(self, system: str, prompt: str) -> str:
        messages = [ContextMessage.system(system), ContextMessage.user(prompt)]
        return (await self._call(messages, None, None, self.text_max_tokens)).content or ""

    # tool modes ------------------------------------------------------------------------------

    async def _call(self, messages: list[ContextMessage], tools: list[ToolSpec] | None,
                    on_text: TextSink | None, max_tokens: int) -> LLMResponse:
        json_mode = bool(tools) and self.json_mode
        try:
            response = await self._request(messages, tools, json_mode, on_text, max_tokens)
        except _ToolsRefused as refused:
            refused_mode = "json" if json_mode else "native"
            if self.tool_mode != "auto" or refused_mode in self._refused:
                raise refused.error from None
            self._refused.add(refused_mode)
            other = "native" if json_mode else "json"
            if other in self._refused:
                raise refused.error from None
            self._switch(other, f"the server refused {refused_mode} mode")
            return await self._call(messages, tools, on_text, max_tokens)
        if json_mode or not tools or self.tool_mode != "auto" or "json" in self._refused:
            return response
        if response.calls_from_text or response.rejected_calls:
            self._switch("json", "the model wrote its tool calls as text")
            if not response.tool_calls:  # nothing usable: ask again, in json mode
                return await self._call(messages, tools, None, max_tokens)
        return response

    def _switch(self, mode: str, why: str) -> None:
        log.warning("%s model=%s: %s; LLM_TOOL_MODE=auto now uses %s mode", self.name, self.model, why, mode)
        self.json_mode = mode == "json"

    # one request ----------------------------------------------------------------------------

    def _body(self, messages: list[ContextMessage], tools: list[ToolSpec] | None, json_mode: bool,
              max_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model}
        body["max_completion_tokens" if self.is_openai else "max_tokens"] = max_tokens
        if json_mode and tools:
            body["messages"] = json_mode_messages(messages, tools)
            body["response_format"] = json_mode_format(tools)
            return body
        body["messages"] = [to_openai_message(m) for m in messages]
        if tools:
            body["tools"] = [to_openai_tool(tool) for tool in tools]
            body["tool_choice"] = "auto"
            if self.parallel_tool_calls is not None:
                body["parallel_tool_calls"] = self.parallel_tool_calls
        return body

    async def _request(self, messages: list[ContextMessage], tools: list[ToolSpec] | None, json_mode: bool,
                       on_text: TextSink | None, max_tokens: int) -> LLMResponse:
        body = self._body(messages, tools, json_mode, max_tokens)
        log.debug("%s request model=%s messages=%d tools=%d json_mode=%s stream=%s", self.name, self.model,
                  len(messages), len(tools or []), json_mode, on_text is not None)
        started = time.monotonic()
        with counting_attempts() as attempts:
            try:
                if on_text is not None and self.can_stream:
                    try:
                        completion: ChatCompletion = await self._stream(body, None if json_mode else on_text)
                    except _NoStream:
                        log.warning("%s model=%s sent no stream; streaming is off from now on", self.name, self.model)
                        self.can_stream = False
                        return await self._request(messages, tools, json_mode, None, max_tokens)
                else:
                    async with asyncio.timeout(self.timeout_s):
                        completion = await self._completions.create(**body)
            except (APITimeoutError, TimeoutError):
                log.warning("%s model=%s timed out after %.1fs", self.name, self.model, self.timeout_s)
                raise LLMTimeout(
                    f"The language model didn't answer within {self.timeout_s:g} seconds. Please try again."
                ) from None
            except APIStatusError as exc:
                error = self._status_error(exc, attempts.count)
                if ("tools" in body or "response_format" in body) and _refuses_tools(exc):
                    raise _ToolsRefused(error) from None
                raise error from None
            except APIConnectionError as exc:
                log.warning("%s unreachable at %s: %s", self.name, self._host(), self._scrub(str(exc)))
                raise LLMError(
                    f"I couldn't reach the language model service after {max(attempts.count, 1)} attempts."
                ) from None
            except OpenAIError as exc:  # e.g. a body that isn't a completion at all
                log.warning("%s model=%s: %s", self.name, self.model, self._scrub(f"{type(exc).__name__}: {exc}"))
                raise LLMError(_UNREADABLE) from None
        response = self._read(completion, tools, json_mode)
        log.info(
            "%s call model=%s latency_ms=%d attempts=%d prompt_tokens=%s completion_tokens=%s tool_calls=%d "
            "text_calls=%s finish=%s",
            self.name, self.model, (time.monotonic() - started) * 1000, attempts.count, response.prompt_tokens,
            response.completion_tokens, len(response.tool_calls), response.calls_from_text, response.finish_reason,
        )
        return response

    def _read(self, completion: ChatCompletion, tools: list[ToolSpec] | None, json_mode: bool) -> LLMResponse:
        try:
            if json_mode:
                return from_json_step(to_llm_response(completion, tools, text_calls=False), tools or [])
            return to_llm_response(completion, tools)
        except LLMError:
            raise
        except (AttributeError, TypeError, ValueError, IndexError, KeyError):  # a compatible server's odd shape
            log.warning("%s model=%s sent an unreadable completion", self.name, self.model)
            raise LLMError(_UNREADABLE) from None

    async def _stream(self, body: dict[str, Any], on_text: TextSink | None) -> ChatCompletion:
        """A streamed completion, accumulated by the SDK's own `ChatCompletionStreamState`."""
        if self.is_openai:
            body = {**body, "stream_options": {"include_usage": True}}
        state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
        gate = ProseGate()
        async with asyncio.timeout(self.timeout_s):
            stream = await self._completions.create(**body, stream=True)
        chunks = 0
        try:
            iterator = stream.__aiter__()
            while True:
                try:
                    async with asyncio.timeout(self.timeout_s):
                        chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                chunks += 1
                state.handle_chunk(chunk)
                delta = chunk.choices[0].delta.content if chunk.choices and chunk.choices[0].index == 0 else None
                if on_text is not None and delta:
                    shown = gate.feed(delta)
                    if shown:
                        on_text(shown)
        finally:
            await stream.close()
        if chunks == 0:
            raise _NoStream()
        try:
            return state.get_final_completion()
        except (AssertionError, AttributeError, TypeError, ValueError, IndexError, KeyError):
            log.warning("%s model=%s sent an unreadable stream", self.name, self.model)
            raise LLMError(_UNREADABLE) from None

    # errors ------------------------------------------------------------------------------

    def _status_error(self, exc: APIStatusError, attempts: int) -> LLMError:
        status = exc.status_code
        detail = self._scrub(_server_message(exc))
        log.warning("%s model=%s failed with HTTP %d after %d attempt(s): %s", self.name, self.model, status,
                    attempts, detail)
        if status in (401, 403):
            return LLMError(f"The language model service refused the API key (HTTP {status}). Check the configured key.")
        if status == 404:
            return LLMError(f"The language model service doesn't know model {self.model!r} (HTTP 404). Check the model name and base URL.")
        if status == 429 and exc.code == "insufficient_quota":
            return LLMError("The language model account is out of quota (HTTP 429).")
        if exc.response.headers.get("x-should-retry") == "false" or status == 501:
            return LLMError(f"The language model service refused the request (HTTP {status}): {detail}")
        if status in RETRYABLE_STATUS or status >= 500:
            return LLMError(f"The language model service kept failing (HTTP {status}) after {attempts} attempts. Please try again later.")
        return LLMError(f"The language model service rejected the request (HTTP {status}): {detail}")

    def _scrub(self, text: str) -> str:
        """Remove the key (and anything key-shaped) from server text before it goes anywhere."""
        if self._api_key:
            text = text.replace(self._api_key, "***")
        return _KEY_PATTERN.sub("***", text)[:300]

    def _host(self) -> str:
        return self._client.base_url.host


def _refuses_tools(exc: APIStatusError) -> bool:
    """A 501, or a 4xx/5xx refusal that names tools or the response format."""
    if exc.status_code == 501:
        return True
    if exc.status_code in (408, 409, 429) or exc.status_code == 404 or exc.status_code in (401, 403):
        return False
    return bool(re.search(r"tool|function|response_format|json_schema|grammar", _server_message(exc), re.IGNORECASE))


def _server_message(exc: APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str):
            return message
    return str(body) if body is not None else ""
