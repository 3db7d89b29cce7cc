"""The Slack adapter: @mention the bot, the thread is the session, one live reply.

Public entry points:

- `create_slack_runtime(app, settings)` registers the Slack port and attachment
  fetcher on a (not yet started) core `App` and builds the Bolt app;
  `runtime.aiohttp_app()` is the HTTP-mode web app, `runtime.socket_mode()` the
  Socket Mode connection.
- `require_secret(value, name)` checks a required token; `bot/platforms.py` runs the
  process (`director-bot slack [--http]`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import Listeners, build_bolt_app, web_client
from adapters.slack.delivery import DeliveryOptions, SlackPort
from adapters.slack.files import SlackFileFetcher
from adapters.slack.server import create_web_app
from adapters.slack.socket_mode import SocketMode

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.wiring import App

__all__ = ["SlackOptions", "SlackRuntime", "create_slack_runtime", "require_secret"]

log = logging.getLogger(__name__)


@dataclass
class SlackOptions:
    """Knobs tests and benchmarks change; production uses the defaults."""

    delivery: DeliveryOptions = field(default_factory=DeliveryOptions)
    react: bool = True  # 👀 on the person's message when a turn is accepted


def require_secret(value: object, name: str) -> str:
    """The secret's value; a missing or blank one is a configuration error."""
    secret = value.get_secret_value().strip() if value is not None else ""  # type: ignore[attr-defined]
    if not secret:
        from bot.settings import SettingsError

        raise SettingsError(f"{name} is required for the Slack bot")
    return secret  # type: ignore[no-any-return]


class SlackRuntime:
    """The Bolt app, the Web API client and the port, wired to one core App."""

    def __init__(self, app: "App", settings: "Settings", options: SlackOptions | None = None,
                 client: AsyncWebClient | None = None) -> None:
        from bot.settings import split_list

        options = options or SlackOptions()
        options.delivery.inline_clip_bytes = int(settings.slack_inline_clip_mb * 1024 * 1024)
        token = require_secret(settings.slack_bot_token, "SLACK_BOT_TOKEN")
        self.app = app
        self.settings = settings
        self.client = client or web_client(token, settings.slack_api_url)
        self.port = SlackPort(self.client, options.delivery)
        app.register_port(self.port)
        app.conversations.register_fetcher("slack", SlackFileFetcher(token, settings.slack_api_url))
        self.listeners = Listeners(
            self.client, app.conversations, allowed_channels=split_list(settings.slack_allowed_channels),
            admin_users=split_list(settings.slack_admin_users), react=options.react,
        )
        secret = settings.slack_signing_secret
        self.bolt = build_bolt_app(self.client, self.listeners,
                                   secret.get_secret_value().strip() or None if secret else None)

    def aiohttp_app(self) -> web.Application:
        """HTTP mode: /slack/events, /slack/interactivity, /healthz (+ media routes).

        Refuses to serve without a signing secret: Bolt would then accept unsigned requests.
        """
        require_secret(self.settings.slack_signing_secret, "SLACK_SIGNING_SECRET")
        return create_web_app(self.bolt, self.app.media_routes())

    def socket_mode(self, app_token: str) -> SocketMode:
        return SocketMode(self.bolt, app_token, self.client)

    async def close(self, grace: float = 5.0) -> None:
        """After `app.stop()`: finish or stop this adapter's own background work."""
        await self.listeners.drain()
        await self.port.aclose(grace)


def create_slack_runtime(app: "App", settings: "Settings", options: SlackOptions | None = None,
                         client: AsyncWebClient | None = None) -> SlackRuntime:
    """Call before `app.start()`, so interrupted turns reach the Slack port."""
    return SlackRuntime(app, settings, options, client)
