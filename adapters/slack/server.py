"""HTTP mode: one aiohttp server for Slack's requests, health checks and media.

POST /slack/events and POST /slack/interactivity go to Bolt unchanged (Bolt checks
the v0 signature and the timestamp: a bad one is 401). GET /healthz answers for
load balancers. With the local backend, its /media and /watch routes are served
from the same port, so the Watch links work behind one public URL.
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

EVENTS_PATH = "/slack/events"
INTERACTIVITY_PATH = "/slack/interactivity"


def create_web_app(bolt: AsyncApp, media: web.Application | None = None) -> web.Application:
    """The Slack routes, added to the media app when there is one."""
    web_app = media if media is not None else web.Application()

    async def dispatch(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app.router.add_post(EVENTS_PATH, dispatch)
    web_app.router.add_post(INTERACTIVITY_PATH, dispatch)
    if not any(r.canonical == "/healthz" for r in web_app.router.resources()):
        web_app.router.add_get("/healthz", healthz)
    return web_app


class HttpServer:
    """Runs the web app on host:port (port 0 picks a free one)."""

    def __init__(self, web_app: web.Application) -> None:
        self._runner = web.AppRunner(web_app, access_log=None)
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.port

    async def stop(self) -> None:
        await self._runner.cleanup()
