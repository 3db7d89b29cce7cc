"""Fixtures: a VideoDB emulator on 127.0.0.1 and a backend pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from videodb._constants import HttpClientDefaultValues

from core.video.videodb import VideoDBBackend
from tests.fakes.videodb_server import VideoDBEmulator


@pytest.fixture(autouse=True)
def fast_polling() -> Iterator[None]:
    """The SDK polls long jobs every 5 s; the emulator's jobs are instant."""
    saved = HttpClientDefaultValues.poll_interval
    HttpClientDefaultValues.poll_interval = 0.01
    yield
    HttpClientDefaultValues.poll_interval = saved


@pytest.fixture
def emulator() -> Iterator[VideoDBEmulator]:
    emu = VideoDBEmulator(api_key="sk-test-secret-123")
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
async def backend(emulator: VideoDBEmulator) -> AsyncIterator[VideoDBBackend]:
    b = VideoDBBackend(emulator.api_key, emulator.base_url, max_workers=2, max_retries=3, retry_base_delay=0.0)
    yield b
    await b.close()
