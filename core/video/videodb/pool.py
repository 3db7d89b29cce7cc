"""Worker threads for the blocking videodb SDK, one Connection per thread.

A videodb `Connection` keeps per-call state on itself (poll settings, progress
bar, `collection_id`), so sharing one between threads is unsafe. Each worker of
our `ThreadPoolExecutor` lazily builds its own, and every SDK call runs there,
never on the event loop.

Our connections differ from the SDK default in five ways, all through public
`requests` seams: retries are left to our async retry layer (plain adapters, so a
429/5xx reaches us with its response), the adapter notes whether a request that
changes something may have reached VideoDB (so the retry layer knows whether trying
again could do it twice), the poll interval can be set per backend, a response
hook turns the SDK's poll percentages into progress reports, and the same hook ends
a call whose turn was cancelled: the SDK polls a long job until it is done (up to
its `max_poll_time`), which would keep a worker thread busy for nobody; with the
hook the thread is free again after at most one poll interval and one request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from videodb.client import Connection
from videodb.exceptions import VideodbError

from core.video.backend import ProgressFn

log = logging.getLogger(__name__)

T = TypeVar("T")
Report = Callable[[str, float | None], None]
_PROCESSING = ("processing", "in progress")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CallAbandoned(Exception):
    """Raised inside a worker to end an SDK call nobody waits for any more (not a
    `requests` error, so the SDK does not wrap it)."""


class CallFailed(Exception):
    """An SDK call failed; `may_have_written` says whether a request that changes something
    (POST, PUT, PATCH, DELETE) may have reached VideoDB during it."""

    def __init__(self, error: VideodbError, may_have_written: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.may_have_written = may_have_written


def never_connected(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (no connection was made)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.exceptions.ConnectionError) and isinstance(
        reason, NewConnectionError | ConnectTimeoutError)


class _WriteTracking(HTTPAdapter):
    """A plain adapter (no retries) that reports writes which may have reached VideoDB."""

    def __init__(self, on_write: Callable[[], None]) -> None:
        super().__init__(max_retries=0)
        self._on_write = on_write

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        writes = (request.method or "GET").upper() not in SAFE_METHODS
        try:
            response = super().send(request, *args, **kwargs)
        except requests.RequestException as exc:
            if writes and not never_connected(exc):
                self._on_write()
            raise
        if writes and response.status_code != 429:  # a 429 was refused, not carried out
            self._on_write()
        return response


class _PooledConnection(Connection):
    """A videodb Connection owned by one worker thread."""

    def __init__(self, api_key: str, base_url: str, poll_interval: float | None,
                 on_response: Callable[..., None], on_write: Callable[[], None]) -> None:
        super().__init__(api_key=api_key, base_url=base_url)
        plain = _WriteTracking(on_write)
        self.session.mount("http://", plain)
        self.session.mount("https://", plain)
        self.session.hooks["response"].append(on_response)
        self._poll_override = poll_interval

    def _apply_poll_overrides(self, kwargs: dict[str, Any]) -> None:
        super()._apply_poll_overrides(kwargs)
        if self._poll_override is not None:
            self.poll_interval = self._poll_override


def poll_percentage(response: requests.Response) -> float | None:
    """The fraction done in a VideoDB "processing" poll answer, if it has one."""
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("status") not in _PROCESSING:
        return None
    data = body.get("data")
    percentage = data.get("percentage") if isinstance(data, dict) else None
    if not isinstance(percentage, int | float):
        return None
    return max(0.0, min(1.0, float(percentage) / 100))


class ConnectionPool:
    """Runs `fn(connection)` in a worker thread that owns its Connection."""

    def __init__(self, api_key: str, base_url: str, max_workers: int, poll_interval: float | None) -> None:
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._poll_interval = poll_interval
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="videodb")
        self._local = threading.local()
        self._connections: list[_PooledConnection] = []
        self._lock = threading.Lock()

    async def run(self, fn: Callable[[Connection], T], progress: ProgressFn | None = None,
                  label: str = "") -> T:
        """Run `fn` off the loop; progress reports hop back onto the loop.

        An SDK error comes back as `CallFailed`, saying whether a write may have reached VideoDB.
        """
        loop = asyncio.get_running_loop()
        report = _on_loop(loop, progress) if progress is not None else None
        abandoned = threading.Event()
        try:
            return await loop.run_in_executor(self._executor, self._call, fn, report, label, abandoned)
        except asyncio.CancelledError:
            abandoned.set()  # the worker stops at the SDK's next response (`_on_response`)
            raise

    def report(self, message: str, fraction: float | None = None) -> None:
        """From inside a worker: report progress of the current call (if anyone listens)."""
        report: Report | None = getattr(self._local, "report", None)
        self._local.label = message
        if report is not None:
            report(message, fraction)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for conn in self._connections:
                conn.session.close()
            self._connections.clear()

    def _call(self, fn: Callable[[Connection], T], report: Report | None, label: str,
              abandoned: threading.Event) -> T:
        self._local.report = report
        self._local.label = label
        self._local.wrote = False
        self._local.abandoned = abandoned
        try:
            return fn(self._connection())
        except VideodbError as exc:
            raise CallFailed(exc, self._local.wrote) from exc
        except CallAbandoned:
            log.info("VideoDB %s: stopped waiting (its turn was cancelled)", label or "call")
            raise
        finally:
            self._local.report = None
            self._local.abandoned = None

    def _note_write(self) -> None:
        self._local.wrote = True

    def _connection(self) -> _PooledConnection:
        conn: _PooledConnection | None = getattr(self._local, "connection", None)
        if conn is None:
            conn = _PooledConnection(self._api_key, self._base_url, self._poll_interval, self._on_response,
                                     self._note_write)
            self._local.connection = conn
            with self._lock:
                self._connections.append(conn)
            log.debug("videodb connection opened in %s", threading.current_thread().name)
        return conn

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        abandoned: threading.Event | None = getattr(self._local, "abandoned", None)
        if abandoned is not None and abandoned.is_set():
            raise CallAbandoned
        report: Report | None = getattr(self._local, "report", None)
        if report is None:
            return
        fraction = poll_percentage(response)
        if fraction is not None:
            report(getattr(self._local, "label", "") or "working…", fraction)


def _on_loop(loop: asyncio.AbstractEventLoop, progress: ProgressFn) -> Report:
    """A reporter safe to call from a worker thread: it runs `progress` on the loop."""

    def report(message: str, fraction: float | None = None) -> None:
        try:
            loop.call_soon_threadsafe(_safe, progress, message, fraction)
        except RuntimeError:  # loop closed: nobody is listening any more
            pass

    return report


def _safe(progress: ProgressFn, message: str, fraction: float | None) -> None:
    try:
        progress(message, fraction)
    except Exception:  # a broken progress callback must not break the job
        log.exception("progress callback failed")
