"""Worker threads for the blocking videodb SDK, one Connection per thread.

A videodb `Connection` keeps per-call state on itself (poll settings, progress
bar, `collection_id`), so sharing one between threads is unsafe. Each worker of
our `ThreadPoolExecutor` lazily builds its own, and every SDK call runs there,
never on the event loop.

Our connections differ from the SDK default in three ways, all through public
`requests` seams: retries are left to our async retry layer (plain adapters, so a
429/5xx reaches us with its response), the poll interval can be set per backend,
and a response hook turns the SDK's poll percentages into progress reports.
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
from videodb.client import Connection

from core.video.backend import ProgressFn

log = logging.getLogger(__name__)

T = TypeVar("T")
Report = Callable[[str, float | None], None]
_PROCESSING = ("processing", "in progress")


class _PooledConnection(Connection):
    """A videodb Connection owned by one worker thread."""

    def __init__(self, api_key: str, base_url: str, poll_interval: float | None,
                 on_response: Callable[..., None]) -> None:
        super().__init__(api_key=api_key, base_url=base_url)
        plain = HTTPAdapter(max_retries=0)
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
        """Run `fn` off the loop; progress reports hop back onto the loop."""
        loop = asyncio.get_running_loop()
        report = _on_loop(loop, progress) if progress is not None else None
        return await loop.run_in_executor(self._executor, self._call, fn, report, label)

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

    def _call(self, fn: Callable[[Connection], T], report: Report | None, label: str) -> T:
        self._local.report = report
        self._local.label = label
        try:
            return fn(self._connection())
        finally:
            self._local.report = None

    def _connection(self) -> _PooledConnection:
        conn: _PooledConnection | None = getattr(self._local, "connection", None)
        if conn is None:
            conn = _PooledConnection(self._api_key, self._base_url, self._poll_interval, self._on_response)
            self._local.connection = conn
            with self._lock:
                self._connections.append(conn)
            log.debug("videodb connection opened in %s", threading.current_thread().name)
        return conn

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
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
