"""The media server refuses paths outside the media folder, 404s unknown ids, survives a busy port."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest

from core.video.local import MediaServer
from core.video.local.media_server import resolve_media_path
from tests.core.video.local.conftest import Library

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.media]


async def raw_get(base_url: str, path: str) -> int:
    """Send the request line exactly as written (a client library would normalise the dots)."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


@pytest.mark.parametrize("path", [
    "/media/../test.db", "/media/%2e%2e/test.db", "/media/..%2ftest.db", "/media/%2e%2e%2ftest.db",
    "/media/x/../../test.db", "/media//etc/passwd", "/media/%2fetc%2fpasswd", "/media/..\\test.db",
])
async def test_no_path_escapes_the_media_folder(library: Library, path: str) -> None:
    assert (library.data_dir.parent / "test.db").is_file()
    assert await raw_get(library.base_url, path) in {400, 403, 404}


async def test_resolve_media_path_stays_inside(tmp_path: Path) -> None:
    root = tmp_path / "media"
    (root / "c").mkdir(parents=True)
    (root / "c" / "v.mp4").write_bytes(b"x")
    (tmp_path / "secret.db").write_bytes(b"x")
    (root / "c" / "link.mp4").symlink_to(tmp_path / "secret.db")
    assert resolve_media_path(root, "c/v.mp4") == (root / "c" / "v.mp4").resolve()
    for bad in ("../secret.db", "c/../../secret.db", "c/link.mp4", "c", "/etc/passwd", "c/missing.mp4"):
        assert resolve_media_path(root, bad) is None


async def test_unknown_watch_ids_get_a_404_page(library: Library) -> None:
    async with aiohttp.ClientSession() as client:
        for item_id in ("0" * 32, "not-an-id"):
            async with client.get(f"{library.base_url}/watch/{item_id}") as response:
                assert response.status == 404 and response.content_type == "text/html"
                assert "There is no video at this link" in await response.text()
        async with client.get(f"{library.base_url}/media/{'0' * 32}/missing.mp4") as response:
            assert response.status == 404


async def test_a_busy_port_falls_back_to_one_the_os_picks(library: Library) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        server = MediaServer(library.backend)
        url = await server.start("127.0.0.1", busy)
        try:
            assert url.startswith("http://127.0.0.1:") and not url.endswith(f":{busy}")
            async with aiohttp.ClientSession() as client, client.get(f"{url}/healthz") as response:
                assert response.status == 200 and await response.text() == "ok"
        finally:
            await server.stop()
