"""`/director upload file:<video>`: downloaded at once from the CDN, uploaded to the
channel's collection and indexed; the job message ends with a Watch link that plays."""

from __future__ import annotations

from adapters.discord.inbound import channel_key
from tests.scenarios.discord.conftest import BotFactory, World, all_text, link_urls


async def test_attachment_is_downloaded_indexed_and_playable(discord_bot: BotFactory, world: World,
                                                             talk_video: bytes) -> None:
    fake = world.fake
    bot = await discord_bot()
    file = fake.add_attachment(world.channel, "quarterly review.mp4", talk_video, "video/mp4")
    interaction = await fake.slash(world.guild, world.channel, "upload", {"file": file})

    thread = await bot.thread_of(interaction)
    downloads = fake.calls("GET", r"/cdn/attachments/.*")
    assert len(downloads) == 1
    job = await bot.final_job(thread, timeout=120)
    assert "Done" in job["content"], all_text(job)

    [video] = await bot.app.conversations.videos(channel_key(world.guild, world.channel))
    assert video.name.startswith("quarterly review") and video.indexed
    watch = link_urls(job)["▶ Watch"]
    async with bot.http.get(watch) as page:
        assert page.status == 200 and "<video" in await page.text()
    incoming = bot.discord.staging_dir.parent
    assert [p for p in incoming.rglob("*") if p.is_file()] == []  # the staged upload went with its turn


async def test_a_file_that_is_not_a_video_is_refused(discord_bot: BotFactory, world: World) -> None:
    fake = world.fake
    bot = await discord_bot()
    file = fake.add_attachment(world.channel, "notes.pdf", b"%PDF-1.4", "application/pdf")
    interaction = await fake.slash(world.guild, world.channel, "upload", {"file": file})

    answer = await fake.wait_for(lambda: (fake.original_response(interaction) or {}).get("content"))
    assert "not a video" in answer
    assert not fake.calls("GET", r"/cdn/attachments/.*")
    assert not fake.threads_of(world.channel)
    assert bot.job_messages(world.channel) == []
