"""SDK calls run in worker threads: the event loop keeps running meanwhile."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from videodb._constants import HttpClientDefaultValues

from core.video.backend import UploadSource
from core.video.videodb import VideoDBBackend
from tests.fakes.videodb_server import VideoDBEmulator


async def test_loop_stays_responsive_during_a_slow_call(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    loop = asyncio.get_running_loop()
    entered = asyncio.Event()
    vid = emulator.add_video("default", "talk")
    hold = emulator.hold("POST", rf"video/{vid}/stream", on_enter=lambda: loop.call_soon_threadsafe(entered.set))

    call = asyncio.create_task(backend.stream("default", vid, [(1, 2)]))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    await asyncio.wait_for(entered.wait(), timeout=10)
    seen = ticks
    for _ in range(5):
        await asyncio.sleep(0)
    assert ticks > seen and not call.done()  # the request is still held, and the loop runs

    hold.release.set()
    link = await asyncio.wait_for(call, timeout=10)
    ticking.cancel()
    assert link.stream_url


async def test_calls_run_in_worker_threads_with_their_own_connections(
    backend: VideoDBBackend, emulator: VideoDBEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="core.video.videodb.pool")
    loop_thread = threading.current_thread().name
    a = emulator.add_video("default", "a")
    b = emulator.add_video("default", "b")
    hold = emulator.hold("POST", r"video/.*/stream")
    both = asyncio.gather(backend.stream("default", a, [(0, 1)]), backend.stream("default", b, [(0, 1)]))
    await asyncio.wait_for(asyncio.to_thread(hold.entered.wait, 10), 10)
    hold.release.set()
    await asyncio.wait_for(both, 10)

    opened = [r.threadName for r in caplog.records if "connection opened" in r.getMessage()]
    assert len(opened) == 2 and len(set(opened)) == 2  # two threads, one Connection each
    assert all(name.startswith("videodb") and name != loop_thread for name in opened)

    progress_threads: list[str] = []
    await backend.upload("default", UploadSource(url="https://example.com/a.mp4"),
                         progress=lambda m, f: progress_threads.append(threading.current_thread().name))
    assert progress_threads and set(progress_threads) == {loop_thread}  # progress hops back to the loop


async def test_backend_poll_interval_overrides_the_sdk_default(emulator: VideoDBEmulator) -> None:
    HttpClientDefaultValues.poll_interval = 5  # the SDK default; the fixture restores it
    backend = VideoDBBackend(emulator.api_key, emulator.base_url, poll_interval=0.01)
    try:
        info = await asyncio.wait_for(backend.upload("default", UploadSource(url="https://example.com/b.mp4")), 3)
    finally:
        await backend.close()
    assert info.id in emulator.videos


async def test_a_cancelled_call_frees_its_worker_thread(emulator: VideoDBEmulator) -> None:
    """The SDK polls a long job until it ends; once nobody waits for it, the worker stops
    at the next poll, so the (only) thread is free for the next call."""
    emulator.processing_polls = 10**9  # the job never finishes
    backend = VideoDBBackend(emulator.api_key, emulator.base_url, max_workers=1, poll_interval=0.01)
    loop = asyncio.get_running_loop()
    polling = asyncio.Event()
    reports: list[float | None] = []

    def progress(message: str, fraction: float | None) -> None:
        reports.append(fraction)
        if len(reports) > 2:  # upload's own 0% first, then the SDK's polls
            loop.call_soon_threadsafe(polling.set)

    try:
        upload = asyncio.create_task(backend.upload("default", UploadSource(url="https://example.com/long.mp4"),
                                                    progress=progress))
        await asyncio.wait_for(polling.wait(), 10)
        upload.cancel()
        with pytest.raises(asyncio.CancelledError):
            await upload
        collection = await asyncio.wait_for(backend.get_collection("default"), 10)
    finally:
        await backend.close()
    assert collection is not None and collection.id == "default"
