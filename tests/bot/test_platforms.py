"""`director-bot slack|discord` refuse to start without their required settings."""

from __future__ import annotations

import pytest

from bot.cli import main


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["slack"], {}, "SLACK_BOT_TOKEN"),
        (["slack", "--http"], {"SLACK_BOT_TOKEN": "xoxb-t"}, "SLACK_SIGNING_SECRET"),
        (["slack"], {"SLACK_BOT_TOKEN": "xoxb-t"}, "SLACK_APP_TOKEN"),
        (["discord"], {}, "DISCORD_BOT_TOKEN"),
    ],
)
def test_missing_tokens_are_named(argv: list[str], env: dict[str, str], named: str, tmp_path,  # type: ignore[no-untyped-def]
                                  monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIRECTOR_DATA_DIR", str(tmp_path / "data"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    assert named in capsys.readouterr().err


def test_the_web_process_listens_on_every_interface_by_default() -> None:
    from bot.settings import Settings

    assert Settings(_env_file=None).host == "0.0.0.0"  # type: ignore[call-arg]


async def test_slack_http_mode_listens_only_on_HOST(tmp_path, fake_slack_api) -> None:  # type: ignore[no-untyped-def]
    """HOST=127.0.0.2: answers there, and nothing listens on 127.0.0.1 (a proxy may sit in front)."""
    import asyncio
    import logging

    import aiohttp

    from bot.platforms import run_slack
    from tests.conftest import make_settings
    from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET

    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class PortOf(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.msg.startswith("Slack HTTP mode on port") and not listening.done():
                listening.set_result(int(record.args[0]))  # type: ignore[index]

    handler = PortOf()
    logger = logging.getLogger("bot.platforms")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    settings = make_settings(tmp_path / "data", HOST="127.0.0.2", PORT=0, SLACK_BOT_TOKEN=BOT_TOKEN,
                             SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake_slack_api.api_url)
    task = asyncio.ensure_future(run_slack(settings, http=True))
    try:
        port = await asyncio.wait_for(asyncio.shield(listening), 60)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.2:{port}/healthz") as response:
                assert response.status == 200
            with pytest.raises(aiohttp.ClientConnectorError):
                await http.get(f"http://127.0.0.1:{port}/healthz")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture
async def fake_slack_api():  # type: ignore[no-untyped-def]
    from tests.fakes.slack_api import FakeSlack

    fake = await FakeSlack().start()
    yield fake
    await fake.close()
