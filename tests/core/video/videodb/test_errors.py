"""Auth, failed jobs, timeouts and the retry policy."""

from __future__ import annotations

import logging

import pytest
from videodb._constants import HttpClientDefaultValues

from core.errors import BackendError
from core.video.backend import UploadSource
from core.video.videodb import VideoDBBackend
from tests.fakes.videodb_server import VideoDBEmulator


async def test_rejected_key_is_clear_not_retried_and_never_shown(emulator: VideoDBEmulator,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    wrong = "sk-wrong-key-987"
    backend = VideoDBBackend(wrong, emulator.base_url, max_retries=3, retry_base_delay=0.0)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(BackendError) as info:
            await backend.list_videos("default")
    finally:
        await backend.close()
    assert "rejected the API key" in info.value.user_message
    assert wrong not in str(info.value) and info.value.__cause__ is None
    assert wrong not in caplog.text and wrong not in repr(backend)
    assert len(emulator.requests) == 1


async def test_failed_job_carries_videodb_message(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    emulator.fail_job(r"collection/default/upload", "Unsupported media format: text/html")
    with pytest.raises(BackendError, match="Unsupported media format: text/html"):
        await backend.upload("default", UploadSource(url="https://example.com/page.html"))
    assert len(emulator.requests_to("POST", r"collection/default/upload")) == 1  # not retried


async def test_429_with_retry_after_then_success(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    vid = emulator.add_video("default", "talk")
    emulator.fail("POST", rf"video/{vid}/stream", 429, times=2, message="Too many requests", retry_after="0")
    link = await backend.stream("default", vid, [(1, 2)])
    assert link.stream_url
    assert len(emulator.requests_to("POST", rf"video/{vid}/stream")) == 3


async def test_500_is_retried_then_given_up(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    emulator.fail("GET", r"collection/default", 500, times=10, message="boom")
    with pytest.raises(BackendError, match=r"HTTP 500\) after 4 attempts"):
        await backend.get_collection("default")
    assert len(emulator.requests_to("GET", r"collection/default")) == 4


async def test_400_is_not_retried(backend: VideoDBBackend, emulator: VideoDBEmulator) -> None:
    emulator.fail("POST", r"collection", 400, message="name too long")
    with pytest.raises(BackendError, match="name too long"):
        await backend.create_collection("x" * 500)
    assert len(emulator.requests_to("POST", r"collection")) == 1


async def test_polling_timeout_is_a_clear_error(backend: VideoDBBackend, emulator: VideoDBEmulator,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HttpClientDefaultValues, "max_poll_time", 0.05)
    emulator.processing_polls = 10_000
    with pytest.raises(BackendError, match="did not finish in time"):
        await backend.upload("default", UploadSource(url="https://example.com/huge.mp4"))


async def test_unreachable_server_is_retried_then_reported(emulator: VideoDBEmulator) -> None:
    base = emulator.base_url
    emulator.stop()
    backend = VideoDBBackend(emulator.api_key, base, max_retries=1, retry_base_delay=0.0)
    try:
        with pytest.raises(BackendError, match="busy or unavailable"):
            await backend.list_videos("default")
    finally:
        await backend.close()


async def test_failed_file_transfer_does_not_leak_the_signed_url(backend: VideoDBBackend,
                                                                  emulator: VideoDBEmulator, tmp_path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 10)
    emulator.fail("POST", r"blob/.+", 403, message="signature expired")
    with pytest.raises(BackendError) as info:
        await backend.upload("default", UploadSource(path=clip))
    assert "uploading" in info.value.user_message and "blob/" not in info.value.user_message
