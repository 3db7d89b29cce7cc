"""Shared media and a running local library for the local backend tests.

Videos are generated once per test session (about a second each); the Whisper model loads
once per process. A `Library` is a LocalBackend on its own SQLite file and data
directory, with its media server running on a port the OS picks.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.storage import database
from core.video.local import LocalBackend, MediaServer
from tests.helpers.media import Spoken, make_silent_video, make_talk_video, make_timed_talk

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")

SENTENCES = [
    "Welcome to the quarterly product review.",
    "First, our revenue grew forty percent compared to last year.",
    "Second, the mobile app now has two million users.",
    "Thank you all for coming today.",
]
OTHER_TEXT = "In this second video we cook pasta with fresh tomatoes and basil."
LOCAL_TABLES = ("local_collections", "local_videos", "local_segments", "local_streams")


@dataclass(frozen=True)
class Media:
    folder: Path
    talk: Path
    timeline: list[Spoken]
    other: Path
    silent: Path
    text_file: Path
    image: Path


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs espeak-ng")
    folder = tmp_path_factory.mktemp("media")
    timeline = make_timed_talk(folder / "talk.mp4", SENTENCES, gap=0.6)
    make_talk_video(folder / "other.mp4", OTHER_TEXT, size="480x270")
    make_silent_video(folder / "silent.mp4", seconds=3.0, size="160x120")
    (folder / "notes.txt").write_text("meeting notes, not a video\n" * 50)
    image = folder / "still.jpg"
    from core.video.local import ffmpeg
    from tests.helpers.media import run_sync

    run_sync(ffmpeg.run_ffmpeg(ffmpeg.locate_ffmpeg(), ffmpeg.frame_args(folder / "talk.mp4", 1.0, image)))
    return Media(folder, folder / "talk.mp4", timeline, folder / "other.mp4", folder / "silent.mp4",
                 folder / "notes.txt", image)


@dataclass
class Library:
    engine: AsyncEngine
    backend: LocalBackend
    server: MediaServer
    base_url: str
    data_dir: Path
    collection_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    def with_limits(self, **overrides: Any) -> LocalBackend:
        """Another backend over the same database and files, with other settings."""
        values: dict[str, Any] = {"max_upload_bytes": self.backend.max_upload_bytes}
        values.update(overrides)
        return LocalBackend(database.session_factory(self.engine), self.data_dir, lambda: self.base_url,
                            **values)

    async def snapshot(self) -> tuple[dict[str, list[Any]], list[tuple[str, int]]]:
        """Every local_* row and every file under the data directory (to prove nothing changed)."""
        rows: dict[str, list[Any]] = {}
        async with self.engine.connect() as connection:
            for table in LOCAL_TABLES:
                result = await connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
                rows[table] = [tuple(row) for row in result]
        files = sorted((path.relative_to(self.data_dir).as_posix(), path.stat().st_size)
                       for path in self.data_dir.rglob("*") if path.is_file())
        return rows, files


async def open_library(root: Path, *, allow_private_urls: bool = False,
                       max_upload_bytes: int = 50 * 1024 * 1024) -> Library:
    engine = database.create_engine(f"sqlite+aiosqlite:///{root}/test.db")
    await database.migrate(engine)
    data_dir = root / "data"
    urls: list[str] = []
    backend = LocalBackend(database.session_factory(engine), data_dir, lambda: urls[0],
                           max_upload_bytes=max_upload_bytes, allow_private_urls=allow_private_urls)
    server = MediaServer(backend)
    urls.append(await server.start("127.0.0.1", 0))
    await backend.start()
    collection = await backend.create_collection("test channel")
    return Library(engine, backend, server, urls[0], data_dir, collection.id)


async def close_library(library: Library) -> None:
    await library.server.stop()
    await library.backend.close()
    await library.engine.dispose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def library(tmp_path_factory: pytest.TempPathFactory, media: Media) -> AsyncIterator[Library]:
    opened = await open_library(tmp_path_factory.mktemp("library"))
    yield opened
    await close_library(opened)


@dataclass
class FileServer:
    """A loopback web server that hands out test files and redirects; it records every path asked."""

    base_url: str
    port: int
    requests: list[str]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def file_server(media: Media) -> AsyncIterator[FileServer]:
    from aiohttp import web

    requests: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        requests.append(request.path)
        name = request.match_info["name"]
        redirects = {
            "to-private": "http://10.0.0.1/video.mp4",
            "to-metadata": "http://169.254.169.254/latest/meta-data/",
            "to-loopback-v6": "http://[::1]/video.mp4",
            "loop": "/files/loop",
            "hop": "/files/talk.mp4",
            "relative-hop": "talk.mp4",
        }
        if name in redirects:
            raise web.HTTPFound(redirects[name])
        if name == "chunked.mp4":  # no Content-Length: the cap must hold while streaming
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(media.talk.read_bytes())
            await response.write_eof()
            return response
        path = media.folder / name
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    app = web.Application()
    app.router.add_get("/files/{name}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    yield FileServer(f"http://127.0.0.1:{port}/files", port, requests)
    await runner.cleanup()
