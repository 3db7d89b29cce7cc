"""Two channels, two collections: each lists, autocompletes and clips only its own videos."""

from __future__ import annotations

from adapters.discord.inbound import channel_key
from tests.helpers.media import make_talk_video
from tests.scenarios.discord.conftest import BotFactory, World, all_text


async def test_channels_cannot_reach_each_others_videos(discord_bot: BotFactory, world: World,
                                                        talk_video: bytes, tmp_path) -> None:
    fake = world.fake
    bot = await discord_bot()
    other_video = make_talk_video(tmp_path / "launch plan.mp4", "The launch is in May.").read_bytes()
    for channel, name, data in ((world.channel, "quarterly review.mp4", talk_video),
                                (world.other_channel, "launch plan.mp4", other_video)):
        file = fake.add_attachment(channel, name, data, "video/mp4")
        upload = await fake.slash(world.guild, channel, "upload", {"file": file})
        assert "Done" in (await bot.final_job(await bot.thread_of(upload), timeout=120))["content"]

    conversations = bot.app.conversations
    [review] = await conversations.videos(channel_key(world.guild, world.channel))
    [launch] = await conversations.videos(channel_key(world.guild, world.other_channel))
    assert review.collection_id != launch.collection_id

    listing = await fake.slash(world.guild, world.other_channel, "videos")
    listed = all_text(await bot.final_job(await bot.thread_of(listing)))
    assert "launch plan" in listed and "quarterly" not in listed

    trespass = await fake.slash(world.guild, world.other_channel, "clip",
                                {"video": review.id, "start": "0", "end": "1"})
    refused = await bot.final_job(await bot.thread_of(trespass))
    assert "Failed" in refused["content"] and not refused.get("attachments")
    assert review.id not in str(refused["components"])

    complete = await fake.slash(world.guild, world.other_channel, "clip", {"video": "", "start": "0", "end": "1"},
                                focused="video")
    [answer] = await fake.wait_for(lambda: fake.callbacks(complete))
    assert answer.body["type"] == 8
    assert [c["value"] for c in answer.body["data"]["choices"]] == [launch.id]
