"""HTTP mode: one aiohttp server for Slack's requests, health checks and media.

POST /slack/events and POST /slack/interactivity are checked, stored and answered
by `SlackIntake` (a bad signature is 401 before anything parses the body). GET
/healthz answers for load balancers, with what the process knows of its runtime.
With the local backend, its /media and /watch routes are served from the same
port, so the Watch links work behind one public URL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.slack.intake import SlackIntake

EVENTS_PATH = "/slack/events"
INTERACTIVITY_PATH = "/slack/interactivity"

Health = Callable[[], Awaitable[dict[str, Any]]]


def create_web_app(intake: SlackIntake, media: web.Application | None = None,
                   health: Health | None = None) -> web.Application:
    """The Slack routes, added to the media app when there is one."""
    web_app = media if media is not None else web.Application()

    async def healthz(request: web.Request) -> web.Response:
        report = await health() if health is not None else {}
        return web.json_response({"ok": True, **report})

    web_app.router.add_post(EVENTS_PATH, intake.http)
    web_app.router.add_post(INTERACTIVITY_PATH, intake.http)
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
