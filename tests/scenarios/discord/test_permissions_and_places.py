"""Allowed servers, the admin-only collection binding, and locked threads."""

from __future__ import annotations

from tests.fakes.discord_server import ALL_TEXT_PERMISSIONS, MANAGE_GUILD
from tests.scenarios.discord.conftest import BotFactory, World


async def answer_of(world: World, interaction: int) -> str:
    fake = world.fake

    def answered() -> str | None:
        original = fake.original_response(interaction) or {}
        return original.get("content") or None

    text: str = await fake.wait_for(answered)
    return text


async def test_servers_outside_the_allow_list_get_a_polite_refusal(discord_bot: BotFactory, world: World) -> None:
    fake = world.fake
    await discord_bot(DISCORD_ALLOWED_GUILDS="12345")
    interaction = await fake.slash(world.guild, world.channel, "ask", {"prompt": "hello"})
    assert "isn't enabled on this server" in await answer_of(world, interaction)
    assert fake.threads_of(world.channel) == []


async def test_binding_a_collection_needs_manage_server_or_the_admin_role(discord_bot: BotFactory,
                                                                          world: World) -> None:
    fake = world.fake
    role = fake.add_role(world.guild, "video-admins")
    bot = await discord_bot(DISCORD_ADMIN_ROLE="video-admins")
    shown = await fake.slash(world.guild, world.channel, "collection")
    assert "no collection yet" in await answer_of(world, shown)

    other = await bot.app.backend.create_collection("shared library")
    refused = await fake.slash(world.guild, world.channel, "collection", {"collection_id": other.id})
    assert "Manage Server" in await answer_of(world, refused)

    admin = fake.add_member(world.guild, "carol", roles=[role])
    by_role = await fake.slash(world.guild, world.channel, "collection", {"collection_id": other.id},
                               user_id=admin)
    assert other.id in await answer_of(world, by_role)

    manager = fake.add_member(world.guild, "dave")
    by_permission = await fake.slash(world.guild, world.channel, "collection", {"collection_id": other.id},
                                     user_id=manager, permissions=ALL_TEXT_PERMISSIONS | MANAGE_GUILD)
    assert other.id in await answer_of(world, by_permission)
    shown_again = await fake.slash(world.guild, world.channel, "collection")
    assert other.id in await answer_of(world, shown_again)


async def test_a_locked_thread_we_cannot_reopen_is_answered_in_its_parent(discord_bot: BotFactory,
                                                                          world: World) -> None:
    fake = world.fake
    bot = await discord_bot()
    thread = fake.add_thread(world.channel, "old session")
    fake.set_thread_state(thread, archived=True, locked=True)
    fake.bot_can_manage_threads = False
    await fake.slash(world.guild, thread, "help")
    job = await bot.final_job(world.channel)
    assert "is locked, so I'm answering here" in job["content"] and "Done" in job["content"]


async def test_an_archived_thread_is_reopened(discord_bot: BotFactory, world: World) -> None:
    fake = world.fake
    bot = await discord_bot()
    thread = fake.add_thread(world.channel, "old session")
    fake.set_thread_state(thread, archived=True, locked=True)  # we may manage threads: reopen it
    await fake.slash(world.guild, thread, "help")
    job = await bot.final_job(thread)
    assert "Done" in job["content"]
    assert not fake.channels[thread]["thread_metadata"]["archived"]


async def test_an_auto_sharded_bot_works_the_same(discord_bot: BotFactory, world: World) -> None:
    fake = world.fake
    bot = await discord_bot(DISCORD_SHARD_COUNT=1)
    assert fake.identifies[-1]["shard"] == [0, 1]
    interaction = await fake.slash(world.guild, world.channel, "help")
    job = await bot.final_job(await bot.thread_of(interaction))
    assert "Done" in job["content"]
