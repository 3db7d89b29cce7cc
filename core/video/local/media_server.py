"""The media server: makes local files links that play, in a browser and in chat unfurls.

    GET /media/{path}   files under <data_dir>/media (Range → 206, no path traversal)
    GET /watch/{id}     an HTML5 player page for a video or a render, with Open Graph tags
    GET /healthz        "ok"

Links are absolute, built from MEDIA_PUBLIC_URL (or this server's own address), so the
page works wherever the base URL points (a tunnel, a reverse proxy, localhost). /media
and /watch answer only signed links that have not expired (`links.py`): a wrong
signature is a 404, an expired link a 410 page that says so. Answers are cached
privately, never past the link's expiry, and a page never sends its link on as a Referer.
"""

from __future__ import annotations

import errno
import html
import logging
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from aiohttp import web

from core.video.local.layout import is_id
from core.video.local.links import Check, Verdict

if TYPE_CHECKING:
    from core.video.local.backend import LocalBackend, WatchItem

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".mkv": "video/x-matroska",
    ".mov": "video/quicktime", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
    # audio items' originals (Download links; Watch and Stream play their picture MP4)
    ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac", ".wav": "audio/wav", ".ogg": "audio/ogg",
    ".opus": "audio/ogg", ".flac": "audio/flac", ".mka": "audio/x-matroska",
}
PLAYER = Template((Path(__file__).with_name("player.html")).read_text(encoding="utf-8"))
BACKEND_KEY: web.AppKey[LocalBackend] = web.AppKey("backend")
NOT_FOUND_PAGE = (
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head>"
    "<body><h1>Not found</h1><p>There is no video at this link. It may have been deleted.</p></body></html>"
)


def create_media_app(backend: LocalBackend) -> web.Application:
    app = web.Application()
    app[BACKEND_KEY] = backend
    app.router.add_get("/media/{path:.+}", serve_media)
    app.router.add_get("/watch/{item_id}", watch_page)
    app.router.add_get("/healthz", healthz)
    return app


EXPIRED_PAGE = (
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Link expired</title></head>"
    "<body><h1>This link has expired</h1><p>Ask the bot for the video again to get a fresh link.</p></body></html>"
)
PRIVATE = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def _not_found() -> web.Response:
    return web.Response(status=404, text=NOT_FOUND_PAGE, content_type="text/html", headers=PRIVATE)


def _refused(verdict: Verdict) -> web.Response:
    if verdict.check is Check.expired:
        return web.Response(status=410, text=EXPIRED_PAGE, content_type="text/html", headers=PRIVATE)
    return _not_found()


def _cache(backend: LocalBackend, verdict: Verdict) -> dict[str, str]:
    return {**PRIVATE, "Cache-Control": f"private, max-age={backend.layout.links.max_age(verdict.expires)}"}


def resolve_media_path(media_root: Path, relative: str) -> Path | None:
    """The file for a /media path, or None if it escapes the media root or isn't a file."""
    if "\\" in relative or "\x00" in relative:
        return None
    root = media_root.resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


async def serve_media(request: web.Request) -> web.StreamResponse:
    backend = request.app[BACKEND_KEY]
    relative = request.match_info["path"]
    verdict = backend.layout.links.verify(f"/media/{relative}", request.query)
    if verdict.check is not Check.ok:
        return _refused(verdict)
    path = resolve_media_path(backend.layout.media_root, relative)
    if path is None:
        return _not_found()
    content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return web.FileResponse(path, headers={"Content-Type": content_type, **_cache(backend, verdict)})


async def watch_page(request: web.Request) -> web.Response:
    backend = request.app[BACKEND_KEY]
    item_id = request.match_info["item_id"]
    verdict = backend.layout.links.verify(f"/watch/{item_id}", request.query)
    if verdict.check is not Check.ok:
        return _refused(verdict)
    item = await backend.watch_item(item_id) if is_id(item_id) else None
    if item is None or not item.video_path.is_file():
        return _not_found()
    return web.Response(text=render_watch_page(backend, item, verdict.expires), content_type="text/html",
                        headers=_cache(backend, verdict))


def render_watch_page(backend: LocalBackend, item: WatchItem, expires: int | None = None) -> str:
    """The player page; the links on it expire with the page's own link."""
    from core.video.local.backend import fmt_time

    base = backend.public_url()
    layout = backend.layout
    video_url = layout.media_url(base, item.video_path, expires)
    image_tags, poster = "", ""
    if item.thumbnail_path is not None:
        image_url = html.escape(layout.media_url(base, item.thumbnail_path, expires), quote=True)
        image_tags = f'<meta property="og:image" content="{image_url}">\n'
        poster = f' poster="{image_url}"'
    return PLAYER.substitute(
        title=html.escape(item.title, quote=True),
        page_url=html.escape(layout.watch_url(base, item.id, expires), quote=True),
        video_url=html.escape(video_url, quote=True),
        video_type=CONTENT_TYPES.get(item.video_path.suffix.lower(), "video/mp4"),
        duration_s=str(round(item.duration)),
        duration=html.escape(fmt_time(item.duration)),
        image_tags=image_tags,
        poster_attr=poster,
    )


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


class MediaServer:
    """Runs the media app; if the configured port is busy, takes one the OS picks."""

    def __init__(self, backend: LocalBackend) -> None:
        self.app = create_media_app(backend)
        self._runner: web.AppRunner | None = None
        self.base_url: str | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port; return the base URL (e.g. "http://127.0.0.1:8765")."""
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        try:
            bound = await self._bind(runner, host, port)
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        shown = "127.0.0.1" if host in {"0.0.0.0", ""} else ("[::1]" if host == "::" else host)
        if ":" in shown and not shown.startswith("["):
            shown = f"[{shown}]"
        self.base_url = f"http://{shown}:{bound}"
        log.info("media server on %s", self.base_url)
        return self.base_url

    async def _bind(self, runner: web.AppRunner, host: str, port: int) -> int:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            if port == 0 or exc.errno != errno.EADDRINUSE:
                raise
            await site.stop()
            site = web.TCPSite(runner, host, 0)
            await site.start()
            chosen = int(runner.addresses[0][1])
            log.warning("media port %d is busy; serving on port %d instead", port, chosen)
        return int(runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
