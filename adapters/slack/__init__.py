"""The Slack adapter: @mention the bot, the thread is the session, one live reply.

Public entry points:

- `create_slack_runtime(app, config)` registers the Slack port and attachment
  fetcher on a (not yet started) core host and builds the Bolt app;
  `runtime.aiohttp_app()` is the HTTP-mode web app, `runtime.socket_mode()` the
  Socket Mode connection.
- Replies stream (`stream_delivery.py`) where Slack allows it and SLACK_STREAMING is
  on; otherwise, and for stored cards, one job card is edited (`delivery.py`).
- `SlackDelivery(app, config)` only shows turns and fetches their files (a worker).
- `SlackConfig` holds the values the adapter reads; `bot/platforms.py` builds it from
  the settings (`slack_config`) and runs the process (`director-bot slack [--http]`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import Listeners, build_bolt_app, web_client
from adapters.slack.config import SlackConfig, SlackConfigError, required
from adapters.slack.delivery import DeliveryOptions, SlackPort
from adapters.slack.feedback import register_feedback
from adapters.slack.files import SlackFileFetcher
from adapters.slack.intake import SlackIntake
from adapters.slack.server import Health, create_web_app
from adapters.slack.socket_mode import SocketMode
from adapters.slack.stream_delivery import StreamingSlackPort, StreamOptions
from core.host import CoreHost

__all__ = ["SlackConfig", "SlackConfigError", "SlackDelivery", "SlackOptions", "SlackRuntime",
           "create_slack_runtime"]

log = logging.getLogger(__name__)


@dataclass
class SlackOptions:
    """Knobs tests and benchmarks change; production uses the defaults."""

    delivery: DeliveryOptions = field(default_factory=DeliveryOptions)
    react: bool = True  # 👀 on the person's message when a turn is accepted
    stream: StreamOptions = field(default_factory=StreamOptions)


class SlackDelivery:
    """Showing turns in Slack and fetching their files, with no inbound side: what a
    worker process needs (`director-bot worker`), and the base of `SlackRuntime`."""

    def __init__(self, app: CoreHost, config: SlackConfig, options: SlackOptions | None = None,
                 client: AsyncWebClient | None = None) -> None:
        options = options or SlackOptions()
        options.delivery.inline_clip_bytes = int(config.inline_clip_mb * 1024 * 1024)
        token = required(config.bot_token, "SLACK_BOT_TOKEN")
        self.app = app
        self.config = config
        self.options = options
        self.client = client or web_client(token, config.api_url)
        stream = replace(options.stream, enabled=options.stream.enabled and config.streaming)
        self.port: SlackPort = StreamingSlackPort(self.client, options.delivery, stream,
                                                  cancel=app.conversations.cancel)
        app.register_port(self.port)
        app.conversations.register_fetcher("slack", SlackFileFetcher(token, config.api_url))

    async def close(self, grace: float = 5.0) -> None:
        """After `app.stop()`: let in-flight edits land (for up to `grace` seconds)."""
        await self.port.aclose(grace)


class SlackRuntime(SlackDelivery):
    """The Bolt app, the Web API client and the port, wired to one core host."""

    def __init__(self, app: CoreHost, config: SlackConfig, options: SlackOptions | None = None,
                 client: AsyncWebClient | None = None) -> None:
        super().__init__(app, config, options, client)
        options = self.options
        self.listeners = Listeners(
            self.client, app.conversations, allowed_channels=list(config.allowed_channels),
            admin_users=list(config.admin_users), react=options.react,
        )
        self.bolt = build_bolt_app(self.client, self.listeners)
        register_feedback(self.bolt, self.client, app.conversations)
        self.intake = SlackIntake(app.intake, self.bolt, (config.signing_secret or "").strip() or None)

    def aiohttp_app(self, health: Health | None = None) -> web.Application:
        """HTTP mode: /slack/events, /slack/interactivity, /healthz (+ media routes).

        Refuses to serve without a signing secret: every request would be unsigned.
        """
        required(self.config.signing_secret, "SLACK_SIGNING_SECRET")
        return create_web_app(self.intake, self.app.media_routes(), health)

    def socket_mode(self, app_token: str | None = None) -> SocketMode:
        """Socket Mode with `app_token`, or the config's SLACK_APP_TOKEN."""
        token = required(app_token if app_token is not None else self.config.app_token, "SLACK_APP_TOKEN")
        return SocketMode(self.intake, token, self.client)

    async def close(self, grace: float = 5.0) -> None:
        """After `app.stop()`: finish or stop this adapter's own background work."""
        await self.listeners.drain()
        await super().close(grace)


def create_slack_runtime(app: CoreHost, config: SlackConfig, options: SlackOptions | None = None,
                         client: AsyncWebClient | None = None) -> SlackRuntime:
    """Call before `app.start()`, so interrupted turns reach the Slack port."""
    return SlackRuntime(app, config, options, client)
