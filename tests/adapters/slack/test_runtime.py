"""The Slack runtime refuses configurations that would weaken request signing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.slack import SlackConfig, SlackConfigError, create_slack_runtime
from bot.platforms import require_secret, slack_config
from bot.settings import SettingsError
from bot.wiring import build_app
from tests.conftest import make_settings
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack


def test_blank_secrets_are_missing() -> None:
    for value in (None, SecretStr(""), SecretStr("  \n")):
        with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
            require_secret(value, "SLACK_SIGNING_SECRET")
    assert require_secret(SecretStr(" s3cret\n"), "X") == "s3cret"


def test_the_config_treats_blank_secrets_as_missing(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN"):
        slack_config(make_settings(tmp_path, SLACK_BOT_TOKEN="  "))
    config = slack_config(make_settings(tmp_path, SLACK_BOT_TOKEN=" xoxb-t\n", SLACK_SIGNING_SECRET="  ",
                                        SLACK_APP_TOKEN=" "))
    assert (config.bot_token, config.signing_secret, config.app_token) == ("xoxb-t", None, None)
    assert "xoxb-t" not in repr(config)


async def test_the_runtime_refuses_a_blank_bot_token(tmp_path: Path) -> None:
    app = await build_app(make_settings(tmp_path / "data"))
    try:
        with pytest.raises(SlackConfigError, match="SLACK_BOT_TOKEN"):
            create_slack_runtime(app, SlackConfig(bot_token=" "))
    finally:
        await app.stop()


@pytest.mark.parametrize("secret", [None, "", "   "])
async def test_http_mode_needs_a_signing_secret(fake_slack: FakeSlack, tmp_path: Path, secret: str | None) -> None:
    values = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake_slack.api_url}
    if secret is not None:
        values["SLACK_SIGNING_SECRET"] = secret
    settings = make_settings(tmp_path / "data", **values)
    app = await build_app(settings)
    runtime = create_slack_runtime(app, slack_config(settings))
    try:
        with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET"):
            runtime.aiohttp_app()
    finally:
        await app.stop()
        await runtime.close(grace=0.1)
