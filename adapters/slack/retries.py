"""Which Web API calls the client retries: never a post whose answer was lost.

slack_sdk's retry handlers decide by status or error type, whatever the method. A call
that creates something (a message, an ephemeral note, a shared file) and got a 5xx or
lost its connection may have been carried out; retrying it could post it twice. Such
calls are retried only when nothing happened: Slack answered 429, or the connection was
never made. Everything else (edits, reactions, lookups) is retried as slack_sdk does.
"""

from __future__ import annotations

from typing import Any

from aiohttp import ClientConnectorError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)

POSTING_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "files.completeUploadExternal"})


def nothing_happened(response: Any, error: BaseException | None) -> bool:
    """A 429, or a connection that was never opened: the call was not carried out."""
    if response is not None:
        return getattr(response, "status_code", None) == 429
    return isinstance(error, ClientConnectorError)


class UnlessItMayHavePosted(AsyncRetryHandler):
    """`inner`, except that a posting call is retried only when nothing happened."""

    def __init__(self, inner: AsyncRetryHandler) -> None:
        super().__init__(inner.max_retry_count, inner.interval_calculator)
        self.inner = inner

    async def can_retry_async(self, **kwargs: Any) -> bool:
        method = kwargs["request"].url.rstrip("/").rsplit("/", 1)[-1]
        if method in POSTING_METHODS and not nothing_happened(kwargs.get("response"), kwargs.get("error")):
            return False
        return await self.inner.can_retry_async(**kwargs)

    async def prepare_for_next_attempt_async(self, **kwargs: Any) -> None:
        await self.inner.prepare_for_next_attempt_async(**kwargs)


def retry_handlers() -> list[AsyncRetryHandler]:
    """Connection errors once, 429s twice (after Retry-After), 500/503 once; posts only when safe."""
    return [UnlessItMayHavePosted(handler) for handler in (
        AsyncConnectionErrorRetryHandler(max_retry_count=1),
        AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        AsyncServerErrorRetryHandler(max_retry_count=1),
    )]
