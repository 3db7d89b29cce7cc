"""Admins bind a channel to an existing collection; others get a clear refusal."""

from __future__ import annotations

from adapters.slack.inbound import channel_key
from tests.fakes.slack_api import TEAM_ID, FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory


async def test_show_and_bind_collection(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("UADMIN", is_admin=True)
    fake_slack.add_user("UPLAIN")
    bot = await slack_bot(SLACK_ADMIN_USERS="UCONFIG")
    first = mention("C1", "help")
    await bot.send(first)
    await bot.final_card("C1", first["ts"])
    c1 = await bot.app.conversations.channel_binding(channel_key(TEAM_ID, "C1"))
    assert c1 is not None

    show = mention("C2", "collection")
    await bot.send(show)
    [reply] = await fake_slack.wait_until(lambda: fake_slack.thread("C2", show["ts"]))
    assert "no collection yet" in reply.text

    refused = mention("C2", f"collection bind {c1.collection_id}", user="UPLAIN")
    await bot.send(refused)
    [reply] = await fake_slack.wait_until(lambda: fake_slack.thread("C2", refused["ts"]))
    assert "Only workspace admins" in reply.text
    assert await bot.app.conversations.channel_binding(channel_key(TEAM_ID, "C2")) is None

    for user in ("UADMIN", "UCONFIG"):
        bind = mention("C2", f"collection bind {c1.collection_id}", user=user)
        await bot.send(bind)
        [reply] = await fake_slack.wait_until(lambda: fake_slack.thread("C2", bind["ts"]))
        assert c1.collection_id in reply.text and "Done" in reply.text
    c2 = await bot.app.conversations.channel_binding(channel_key(TEAM_ID, "C2"))
    assert c2 is not None and c2.collection_id == c1.collection_id
    assert len(bot.turn_ids()) == 1

    bad = mention("C3", "collection bind nope", user="UADMIN")
    await bot.send(bad)
    [reply] = await fake_slack.wait_until(lambda: fake_slack.thread("C3", bad["ts"]))
    assert "no collection 'nope'" in reply.text
