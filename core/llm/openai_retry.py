"""Which failed requests the openai SDK may retry, decided where the body is visible.

The SDK retries 408, 409, 429, 5xx and connection errors itself (`max_retries`,
with backoff and `retry-after`/`retry-after-ms`), and that is what we use. But a
compatible server answers some requests that can never succeed with a 500:
llama-cpp-python refuses `"content": null` that way, llama-server a template or
JSON error. Retrying those only multiplies the wait by `max_retries`.

The SDK has no hook that sees a failed response's body (`_should_retry` is private
and gets a streamed response unread), but it obeys the server's own
`x-should-retry` header. So this httpx transport, httpx's documented seam, reads
the (small) body of each 5xx and marks a validation error `x-should-retry: false`;
the SDK then raises at once. A 501 (a feature the server lacks) and a 429 for an
exhausted quota are marked the same way. It also counts attempts per call, for the log line and the error message.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)

_VALIDATION = re.compile(
    r"validation|invalid|must be|should be|not a valid|type must|json\.exception|typeerror|valueerror"
    r"|keyerror|can only concatenate|template|jinja|parse|unexpected|expected|required|missing"
    r"|unprocessable|malformed|unsupported|not supported|roles must alternate",
    re.IGNORECASE,
)
_VALIDATION_TYPES = {"invalid_request_error", "badrequesterror", "validation_error", "invalid_request"}
_BODY_LIMIT = 64 * 1024


@dataclass
class Attempts:
    count: int = 0
    last_status: int | None = None


_attempts: contextvars.ContextVar[Attempts | None] = contextvars.ContextVar("llm_attempts", default=None)


@contextmanager
def counting_attempts() -> Iterator[Attempts]:
    """Count the HTTP requests made inside this block (retries included)."""
    attempts = Attempts()
    token = _attempts.set(attempts)
    try:
        yield attempts
    finally:
        _attempts.reset(token)


def is_validation_error(body: bytes) -> bool:
    """True if a 5xx body says the request itself is wrong (so a retry cannot help)."""
    text = body[:_BODY_LIMIT].decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    error = data.get("error", data) if isinstance(data, dict) else None
    if isinstance(error, dict):
        kind = str(error.get("type") or "").lower()
        if kind in _VALIDATION_TYPES:
            return True
        message = error.get("message") or error.get("detail") or ""
        return bool(_VALIDATION.search(str(message)))
    if isinstance(error, str):
        return bool(_VALIDATION.search(error))
    return bool(_VALIDATION.search(text))


def _final(status: int, body: bytes) -> bool:
    if status == 429:  # a rate limit passes; an exhausted quota does not
        return b"insufficient_quota" in body[:_BODY_LIMIT]
    return status == 501 or is_validation_error(body)


class RetryPolicyTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; marks 5xx answers that must not be retried."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempts = _attempts.get()
        if attempts is not None:
            attempts.count += 1
        response = await self._inner.handle_async_request(request)
        if attempts is not None:
            attempts.last_status = response.status_code
        if response.status_code < 500 and response.status_code != 429:
            return response
        body = await response.aread()
        final = _final(response.status_code, body)
        log.warning("LLM server answered HTTP %d (attempt %d)%s", response.status_code,
                    attempts.count if attempts else 1, "; not retrying: the request itself was refused" if final else "")
        headers = httpx.Headers(
            [(k, v) for k, v in response.headers.multi_items()
             if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        )
        if final:
            headers["x-should-retry"] = "false"
        return httpx.Response(response.status_code, headers=headers, content=body, request=request,
                              extensions=response.extensions)

    async def aclose(self) -> None:
        await self._inner.aclose()
