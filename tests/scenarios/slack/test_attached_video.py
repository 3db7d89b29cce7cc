"""A video attached to a mention is downloaded with the bot token and indexed;
a clip of it comes back with a Watch link that plays, and as an inline MP4."""

from __future__ import annotations

from adapters.slack.inbound import channel_key
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlack, mention, message
from tests.scenarios.slack.conftest import BotFactory

CHANNEL = "C1"


async def test_attached_video_is_uploaded_indexed_and_clipped(
    slack_bot: BotFactory, fake_slack: FakeSlack, talk_video: bytes
) -> None:
    bot = await slack_bot()
    file = fake_slack.add_file("quarterly review.mp4", talk_video)
    root = mention(CHANNEL, "upload", files=[file])
    await bot.send(root)
    card = await bot.final_card(CHANNEL, root["ts"], timeout=120)
    assert "Done" in card.text, card.all_text()
    assert fake_slack.downloads == [(file["id"], BOT_TOKEN)]
    [video] = await bot.app.conversations.videos(channel_key(TEAM_ID, CHANNEL))
    assert video.name.startswith("quarterly review")

    await bot.send(message(CHANNEL, "search pricing", thread_ts=root["ts"]))
    hits = await bot.final_card(CHANNEL, root["ts"], index=1, timeout=120)
    assert "pricing" in hits.all_text().lower()

    await bot.send(message(CHANNEL, "clip quarterly 0-3", thread_ts=root["ts"]))
    clip = await bot.final_card(CHANNEL, root["ts"], index=2, timeout=120)
    [watch] = [u for u in clip.button_urls()]
    async with bot.http.get(watch) as page:
        assert page.status == 200 and "<video" in (await page.text())
    stream = [line for line in clip.all_text().split("<") if "|stream link>" in line]
    assert stream, clip.all_text()
    stream_url = stream[0].split("|")[0]
    async with bot.http.get(stream_url) as media:
        assert media.status == 200
        assert len(await media.read()) > 1000

    inline = await fake_slack.wait_until(lambda: [
        m for m in fake_slack.thread(CHANNEL, root["ts"]) if m.files and "0:00–0:03" in m.files[0]["title"]])
    assert len(inline) == 1 and fake_slack.uploads[inline[0].files[0]["id"]][4:8] == b"ftyp"


async def test_without_files_read_the_card_names_the_scope(
    slack_bot: BotFactory, fake_slack: FakeSlack, talk_video: bytes
) -> None:
    fake_slack.token_scopes[BOT_TOKEN].discard("files:read")
    bot = await slack_bot()
    file = fake_slack.add_file("talk.mp4", talk_video)
    root = mention(CHANNEL, "upload this please", files=[file])
    await bot.send(root)
    card = await bot.final_card(CHANNEL, root["ts"], timeout=60)
    assert "files:read" in card.all_text()
