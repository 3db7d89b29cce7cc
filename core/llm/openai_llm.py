"""`BaseLLM` on the OpenAI chat-completions API, for OpenAI and compatible servers.

The SDK's own retries are switched off (`max_retries=0`): this module retries 408,
409, 429 and 5xx itself so it can honour `Retry-After`/`retry-after-ms` with a cap,
log each retry, and turn every failure into `LLMError`/`LLMTimeout` whose message
is safe to show in a thread (never the API key, never the prompt).

A timeout is not retried: a model that kept a person waiting `timeout_s` once is
likely to do it again, and the turn has its own budget.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
import uuid
from typing import Any

import httpx
from openai import APIConnectionError, APIStatusError, APITimeoutError, AsyncOpenAI, OpenAIError
from openai.types.chat import ChatCompletion

from core.errors import LLMError, LLMTimeout
from core.llm.base import BaseLLM, LLMResponse, ToolSpec
from core.messages import ContextMessage, ToolCall
from core.retry_after import parse_retry_after

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 429})
_KEY_PATTERN = re.compile(r"\bsk-[A-Za-z0-9*_\-.]{4,}|\bBearer\s+\S+", re.IGNORECASE)


class OpenAILLM(BaseLLM):
    """Chat with tool calling through `AsyncOpenAI`; `base_url=None` means OpenAI itself."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        backoff_base_s: float = 0.5,
        max_wait_s: float = 20.0,
        parallel_tool_calls: bool = True,
        label: str = "openai",
    ) -> None:
        self.name = label
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.max_wait_s = max_wait_s
        self.parallel_tool_calls = parallel_tool_calls
        self._api_key = api_key
        self._client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s),
            max_retries=0,
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAILLM(label={self.name!r}, model={self.model!r}, base_url={self.base_url!r})"

    async def close(self) -> None:
        await self._client.close()

    async def chat(self, messages: list[ContextMessage], tools: list[ToolSpec] | None = None) -> LLMResponse:
        request = self._request(messages, tools)
        log.debug("%s request model=%s messages=%d tools=%d", self.name, self.model, len(messages), len(tools or []))
        started = time.monotonic()
        completion, attempts = await self._create_with_retries(request)
        try:
            response = to_llm_response(completion)
        except (AttributeError, TypeError, ValueError, IndexError) as exc:  # a compatible server's odd shape
            log.warning("%s model=%s sent an unreadable completion: %s", self.name, self.model, type(exc).__name__)
            raise LLMError("The language model service sent an answer I couldn't read.") from None
        log.info(
            "%s call model=%s latency_ms=%d attempts=%d prompt_tokens=%s completion_tokens=%s tool_calls=%d finish=%s",
            self.name,
            self.model,
            (time.monotonic() - started) * 1000,
            attempts,
            response.prompt_tokens,
            response.completion_tokens,
            len(response.tool_calls),
            response.finish_reason,
        )
        return response

    # request ------------------------------------------------------------------------

    def _request(self, messages: list[ContextMessage], tools: list[ToolSpec] | None) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "messages": [to_openai_message(m) for m in messages]}
        if tools:
            request["tools"] = [to_openai_tool(tool) for tool in tools]
            request["parallel_tool_calls"] = self.parallel_tool_calls
        return request

    async def _create_with_retries(self, request: dict[str, Any]) -> tuple[ChatCompletion, int]:
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(self.timeout_s):
                    completion = await self._client.chat.completions.create(**request)
                return completion, attempt
            except (APITimeoutError, TimeoutError):
                log.warning("%s model=%s timed out after %.1fs", self.name, self.model, self.timeout_s)
                raise LLMTimeout(
                    f"The language model didn't answer within {self.timeout_s:g} seconds. Please try again."
                ) from None
            except APIStatusError as exc:
                wait = self._retry_wait(exc, attempt)
                if wait is None:
                    raise self._status_error(exc, attempt) from None
                log.warning(
                    "%s model=%s returned HTTP %d; retry %d/%d in %.2fs",
                    self.name, self.model, exc.status_code, attempt, self.max_retries, wait,
                )
            except APIConnectionError as exc:
                if attempt > self.max_retries:
                    log.warning("%s unreachable at %s: %s", self.name, self._host(), self._scrub(str(exc)))
                    raise LLMError(
                        f"I couldn't reach the language model service after {attempt} attempts."
                    ) from None
                wait = self._backoff(attempt)
                log.warning("%s unreachable at %s; retry %d/%d in %.2fs", self.name, self._host(), attempt, self.max_retries, wait)
            except OpenAIError as exc:  # e.g. a body that isn't a completion at all
                log.warning("%s model=%s: %s", self.name, self.model, self._scrub(f"{type(exc).__name__}: {exc}"))
                raise LLMError("The language model service sent an answer I couldn't read.") from None
            await asyncio.sleep(wait)

    # retries ---------------------------------------------------------------------------

    def _retry_wait(self, exc: APIStatusError, attempt: int) -> float | None:
        """Seconds to wait before retrying `exc`, or None when it must not be retried."""
        status = exc.status_code
        if attempt > self.max_retries or not (status in RETRYABLE_STATUS or status >= 500):
            return None
        if status == 429 and exc.code == "insufficient_quota":
            return None
        hinted = retry_after_seconds(exc.response.headers)
        if hinted is not None:
            return min(hinted, self.max_wait_s)
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with a little jitter, capped at `max_wait_s`."""
        delay = min(self.max_wait_s, self.backoff_base_s * 2 ** (attempt - 1))
        return delay * random.uniform(0.8, 1.0)

    # errors ------------------------------------------------------------------------------

    def _status_error(self, exc: APIStatusError, attempt: int) -> LLMError:
        status = exc.status_code
        detail = self._scrub(_server_message(exc))
        log.warning("%s model=%s failed with HTTP %d after %d attempt(s): %s", self.name, self.model, status, attempt, detail)
        if status in (401, 403):
            return LLMError(f"The language model service refused the API key (HTTP {status}). Check the configured key.")
        if status == 404:
            return LLMError(f"The language model service doesn't know model {self.model!r} (HTTP 404). Check the model name and base URL.")
        if status == 429 and exc.code == "insufficient_quota":
            return LLMError("The language model account is out of quota (HTTP 429).")
        if status in RETRYABLE_STATUS or status >= 500:
            return LLMError(f"The language model service kept failing (HTTP {status}) after {attempt} attempts. Please try again later.")
        return LLMError(f"The language model service rejected the request (HTTP {status}): {detail}")

    def _scrub(self, text: str) -> str:
        """Remove the key (and anything key-shaped) from server text before it goes anywhere."""
        if self._api_key:
            text = text.replace(self._api_key, "***")
        return _KEY_PATTERN.sub("***", text)[:300]

    def _host(self) -> str:
        return self._client.base_url.host


# conversions (pure functions, tested through the fake) ------------------------------------


def to_openai_message(message: ContextMessage) -> dict[str, Any]:
    """Our ContextMessage → one chat.completions message."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.content or ""}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content,
            "tool_calls": [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content or ""}


def to_openai_tool(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def to_llm_response(completion: ChatCompletion) -> LLMResponse:
    """The first choice → LLMResponse; tool arguments stay raw (the engine validates them)."""
    if not completion.choices:
        raise LLMError("The language model returned no answer.")
    choice = completion.choices[0]
    calls: list[ToolCall] = []
    for index, call in enumerate(choice.message.tool_calls or []):
        if call.type != "function":
            log.warning("ignoring a %s tool call; only function tools are offered", call.type)
            continue
        call_id = getattr(call, "id", None) or f"call_{index}_{uuid.uuid4().hex[:8]}"  # some compatible servers omit ids
        calls.append(ToolCall(id=call_id, name=call.function.name, arguments=call.function.arguments or "{}"))
    usage = completion.usage
    return LLMResponse(
        content=choice.message.content,
        tool_calls=calls,
        finish_reason=choice.finish_reason,
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
    )


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """`retry-after-ms`, else `Retry-After` (seconds or an HTTP date); None if absent or unreadable."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


def _server_message(exc: APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str):
            return message
    return str(body) if body is not None else ""
