"""Socket Mode through a loopback websocket: apps.connections.open on the fake
returns a ws:// URL, slack_sdk's aiohttp client connects, acks, and the turn runs."""

from __future__ import annotations

from pathlib import Path

from adapters.slack import SlackOptions, create_slack_runtime
from adapters.slack.delivery import DeliveryOptions
from bot.platforms import slack_config
from bot.wiring import build_app
from tests.conftest import make_settings
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlack, event_body, mention


async def test_socket_mode_mention(fake_slack: FakeSlack, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN,
                             SLACK_API_URL=fake_slack.api_url, SLACK_STREAMING="false")
    app = await build_app(settings)
    runtime = create_slack_runtime(app, slack_config(settings), SlackOptions(delivery=DeliveryOptions(min_interval=0.1)))
    await app.start()
    socket = runtime.socket_mode(APP_TOKEN)
    try:
        await socket.connect()
        await fake_slack.wait_until(lambda: fake_slack.socket_connected)
        event = mention("C1", "help")
        body = event_body(event)
        envelope = await fake_slack.push_envelope(body)
        await fake_slack.push_envelope(body, retry_attempt=1)  # a redelivery
        await fake_slack.wait_until(lambda: [a for a in fake_slack.socket_acks if a.get("envelope_id") == envelope])
        card = await fake_slack.wait_until(
            lambda: [m for m in fake_slack.thread("C1", event["ts"]) if "Done" in m.text])
        assert len(card) == 1 and len(fake_slack.thread("C1", event["ts"])) == 1
        assert any(r.method == "apps.connections.open" and r.token == APP_TOKEN for r in fake_slack.requests)
    finally:
        await socket.close()
        await app.stop()
        await runtime.close(grace=1.0)
