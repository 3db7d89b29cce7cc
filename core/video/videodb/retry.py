"""Which VideoDB failures to retry, how long to wait, and what to tell the person.

The SDK has no 429 handling: a 429 or 5xx surfaces as `InvalidRequestError` with
the `requests` response attached, so we read the status and Retry-After from it.
A failed job also raises `InvalidRequestError`, but with the (HTTP 200) response of
the call that started it, so it is never mistaken for a transient error.

Retrying must never do a thing twice. A `read` (lookups, searches, streams, and
calls VideoDB itself makes idempotent, like indexing) is retried on any transient
failure. A `write` (it creates or bills something: uploads, collections, generation,
dubbing) is retried only when no write reached VideoDB during the attempt (a 429, a
connection never made, a failure before the write); if one may have, the caller
looks the result up before trying again, or does not try again.
"""

from __future__ import annotations

import random
import re
from enum import Enum

from videodb.exceptions import (
    AuthenticationError,
    InvalidRequestError,
    RequestTimeoutError,
    VideodbError,
)

from core.errors import BackendError
from core.retry_after import parse_retry_after

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


class Effect(Enum):
    read = "read"  # no effect, or the same effect however often it runs
    write = "write"  # creates or bills something: running it twice would do it twice


def may_retry(exc: BaseException, effect: Effect, may_have_written: bool, can_look_up: bool) -> bool:
    """Whether trying again is safe (for a write that may have landed, only after a look-up)."""
    if not is_transient(exc):
        return False
    return effect is Effect.read or not may_have_written or can_look_up
MAX_DELAY_S = 30.0
_TRANSIENT_WORDS = ("Connection error", "Max retries exceeded")
_NOT_INDEXED = re.compile(
    r"not\s+(?:been\s+)?indexed|index\w*\s+(?:not\s+found|does\s*n[o']t\s+exist|missing)"
    r"|no\s+(?:spoken[\s_-]*word\s+)?index|transcript\w*\s+(?:not\s+(?:found|available)|unavailable|missing)",
    re.IGNORECASE,
)
_ALREADY_INDEXED = re.compile(r"already\s+(?:exists|indexed)", re.IGNORECASE)


def status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(exc: BaseException) -> bool:
    """429, 5xx, or the connection failing before any answer."""
    if not isinstance(exc, InvalidRequestError):
        return False
    status = status_of(exc)
    if status is not None:
        return status in TRANSIENT_STATUS
    return any(word in str(exc) for word in _TRANSIENT_WORDS)


def is_not_indexed(exc: BaseException) -> bool:
    """VideoDB's "transcript not found" / "not indexed" answers."""
    return isinstance(exc, InvalidRequestError) and not is_transient(exc) and bool(_NOT_INDEXED.search(str(exc)))


def is_already_indexed(exc: BaseException) -> bool:
    return isinstance(exc, InvalidRequestError) and not is_transient(exc) and bool(_ALREADY_INDEXED.search(str(exc)))


def is_not_found(exc: BaseException) -> bool:
    """A 4xx (not 429) answer to a lookup: the thing is not there for us."""
    status = status_of(exc)
    return isinstance(exc, InvalidRequestError) and status is not None and 400 <= status < 500 and status != 429


def retry_after(exc: BaseException) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return parse_retry_after(headers.get("Retry-After") if headers is not None else None)


def backoff_delay(exc: BaseException, attempt: int, base: float) -> float:
    """Retry-After when the server sent one, else exponential backoff with jitter."""
    told = retry_after(exc)
    if told is not None:
        return min(told, MAX_DELAY_S)
    delay = base * (2**attempt)
    return min(delay + random.uniform(0, delay / 4), MAX_DELAY_S)


def server_message(exc: BaseException, secret: str) -> str:
    """VideoDB's own words, without the SDK prefix and never with the API key.

    Uses the message alone: a `VideodbError`'s str() appends its cause, which for a
    failed file upload names the signed upload URL.
    """
    text = str(exc.args[0] if exc.args else exc).strip()
    for prefix in ("Invalid request:", "Error:"):
        if text.startswith(prefix):
            text = text[len(prefix):].strip()
    if secret:
        text = text.replace(secret, "***")
    return text or "no details given"


def to_backend_error(exc: VideodbError, secret: str, attempts: int, maybe_done: bool = False) -> BackendError:
    """The one place SDK errors become messages a person can read.

    `maybe_done`: the request that changes something reached VideoDB and was not repeated.
    """
    if isinstance(exc, AuthenticationError):
        return BackendError("VideoDB rejected the API key (HTTP 401). Check VIDEO_DB_API_KEY.")
    if isinstance(exc, RequestTimeoutError):
        return BackendError(
            "VideoDB did not finish in time. The job may still complete on VideoDB's side; "
            f"try again in a few minutes. ({server_message(exc, secret)})"
        )
    if is_transient(exc):
        status = status_of(exc)
        what = f"HTTP {status}" if status else server_message(exc, secret)
        if maybe_done:
            return BackendError(f"VideoDB failed ({what}) after it received the request, so it may have been "
                                "done anyway; I did not repeat it, so it is not done twice. Check before trying again.")
        return BackendError(f"VideoDB is busy or unavailable ({what}) after {attempts} attempts; try again later.")
    return BackendError(f"VideoDB: {server_message(exc, secret)}")
