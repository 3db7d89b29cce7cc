"""A job message whose POST was carried out but whose answer was lost (a 500) is not
posted twice: discord.py retries the 500 itself with the same nonce (`enforce_nonce`),
Discord answers the retry with the message it already made, and we add no retry of our own."""

from __future__ import annotations

from tests.scenarios.discord.conftest import BotFactory, World

MESSAGES = r"/api/v10/channels/\d+/messages"


async def test_a_post_whose_answer_was_lost_is_not_made_twice(discord_bot: BotFactory, world: World) -> None:
    fake = world.fake
    bot = await discord_bot()
    fake.lose_answer("POST", MESSAGES)
    interaction = await fake.slash(world.guild, world.channel, "help")
    thread = await bot.thread_of(interaction)
    job = await bot.final_job(thread)
    assert "Done" in job["content"]
    assert len(bot.job_messages(thread)) == 1
    assert [r.status for r in fake.calls("POST", MESSAGES)] == [500, 200]  # discord.py's own retry
