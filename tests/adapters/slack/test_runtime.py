"""The Slack runtime refuses configurations that would weaken request signing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.slack import create_slack_runtime, require_secret
from bot.settings import SettingsError
from bot.wiring import build_app
from tests.conftest import make_settings
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack


def test_blank_secrets_are_missing() -> None:
    for value in (None, SecretStr(""), SecretStr("  \n")):
        with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
            require_secret(value, "SLACK_SIGNING_SECRET")
    assert require_secret(SecretStr(" s3cret\n"), "X") == "s3cret"


@pytest.mark.parametrize("secret", [None, "", "   "])
async def test_http_mode_needs_a_signing_secret(fake_slack: FakeSlack, tmp_path: Path, secret: str | None) -> None:
    values = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake_slack.api_url}
    if secret is not None:
        values["SLACK_SIGNING_SECRET"] = secret
    settings = make_settings(tmp_path / "data", **values)
    app = await build_app(settings)
    runtime = create_slack_runtime(app, settings)
    try:
        with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
            runtime.aiohttp_app()
    finally:
        await app.stop()
        await runtime.close(grace=0.1)
