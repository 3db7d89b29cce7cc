"""Graceful stop: SIGTERM (what every platform sends on deploy) and SIGINT end the
process's wait, so its `finally` blocks stop the runner and mark the process stopped."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable

log = logging.getLogger(__name__)


async def until_stopped(*also: Awaitable[object]) -> None:
    """Return on SIGTERM/SIGINT, or when any of `also` ends (its error is raised)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            pass
    waiter = asyncio.ensure_future(stop.wait())
    others = [asyncio.ensure_future(aw) for aw in also]
    try:
        done, _ = await asyncio.wait([waiter, *others], return_when=asyncio.FIRST_COMPLETED)
        if waiter in done:
            log.info("stop requested: finishing up")
        for task in done:
            if task is not waiter:
                task.result()
    finally:
        waiter.cancel()
        for sig in installed:
            loop.remove_signal_handler(sig)
