"""Start-up choices: intents, sharding, addresses, and explicit command sync."""

from __future__ import annotations

from pathlib import Path

import discord
import discord.gateway
import discord.http
import pytest

from adapters.discord import urls
from adapters.discord.client import INVITE_PERMISSIONS, DiscordBot, create_client, intents, invite_url
from adapters.discord.config import DiscordConfig, DiscordConfigError
from bot.platforms import discord_config
from bot.settings import SettingsError
from bot.wiring import build_app
from tests.conftest import make_settings
from tests.fakes.discord_server import FakeDiscord


def test_default_intents_and_message_content_only_on_request(tmp_path: Path) -> None:
    plain = intents(DiscordConfig(bot_token="t", data_dir=tmp_path))
    assert plain.guilds and plain.guild_messages and not plain.message_content and not plain.members
    assert intents(discord_config(make_settings(tmp_path, DISCORD_BOT_TOKEN="t",
                                                DISCORD_MESSAGE_CONTENT=True))).message_content


async def test_shard_count_gives_an_auto_sharded_client(tmp_path: Path) -> None:
    sharded = create_client(discord_config(make_settings(tmp_path, DISCORD_BOT_TOKEN="t", DISCORD_SHARD_COUNT=2)))
    assert isinstance(sharded, discord.AutoShardedClient) and sharded.shard_count == 2
    plain = create_client(DiscordConfig(bot_token="t", data_dir=tmp_path))
    assert not isinstance(plain, discord.AutoShardedClient)
    assert plain.http.max_ratelimit_timeout == 30.0
    await plain.close()


def test_api_urls_are_normalised() -> None:
    assert urls.api_base("https://proxy.example") == "https://proxy.example/api/v10"
    assert urls.api_base("https://proxy.example/api/") == "https://proxy.example/api/v10"
    assert urls.api_base("http://127.0.0.1:9/api/v9") == "http://127.0.0.1:9/api/v9"
    urls.apply("https://proxy.example", "wss://gw.example/")
    assert discord.http.Route("GET", "/users/@me").url == "https://proxy.example/api/v10/users/@me"
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gw.example/"
    urls.apply(None, None)
    assert discord.http.Route.BASE == "https://discord.com/api/v10"


async def test_a_missing_token_is_a_settings_error(tmp_path: Path) -> None:
    for blank in ({}, {"DISCORD_BOT_TOKEN": "  "}):
        with pytest.raises(SettingsError, match="DISCORD_BOT_TOKEN"):
            discord_config(make_settings(tmp_path, **blank))
    app = await build_app(make_settings(tmp_path))
    bot = DiscordBot(app, DiscordConfig(bot_token=" ", data_dir=tmp_path))
    with pytest.raises(DiscordConfigError, match="DISCORD_BOT_TOKEN"):
        await bot.login()
    await bot.close()
    await app.stop()


async def test_sync_publishes_the_director_group_to_a_guild(tmp_path: Path) -> None:
    fake = FakeDiscord()
    await fake.start()
    guild = fake.add_guild()
    settings = make_settings(tmp_path, DISCORD_BOT_TOKEN=fake.bot_token, DISCORD_API_URL=fake.api_url,
                             DISCORD_GATEWAY_URL=fake.gateway_url)
    app = await build_app(settings)
    bot = DiscordBot(app, discord_config(settings))
    try:
        await bot.login()
        await bot.sync(guild)
        [group] = fake.commands[guild]
        assert group["name"] == "director"
        names = {option["name"] for option in group["options"]}
        assert names == {"ask", "upload", "search", "videos", "clip", "compile", "help", "collection"}
        clip = next(o for o in group["options"] if o["name"] == "clip")
        assert next(o for o in clip["options"] if o["name"] == "video")["autocomplete"] is True
        upload = next(o for o in group["options"] if o["name"] == "upload")
        assert {o["name"]: o["type"] for o in upload["options"]} == {"file": 11, "url": 3}
        assert not fake.identifies  # syncing needs no gateway connection
        await bot.sync()
        assert [c["name"] for c in fake.commands[None]] == ["director"]
    finally:
        await bot.close()
        await app.stop()
        await fake.close()
        urls.apply(None, None)


def test_invite_link_scopes_and_permissions() -> None:
    assert INVITE_PERMISSIONS.value == 326417632320  # the number the README gives
    assert invite_url(42) == ("https://discord.com/oauth2/authorize?client_id=42"
                              "&scope=bot+applications.commands&permissions=326417632320")
