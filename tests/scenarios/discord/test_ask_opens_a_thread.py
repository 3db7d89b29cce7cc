"""`/director ask` in a channel: deferred at once, a thread opened for the session, one
job message posted by the bot and edited to its final state with Watch / MP4 buttons
(the link plays, the short clip is attached). Follow-ups in the thread (an @mention,
then a slash command) continue the same session, with memory of the first turn."""

from __future__ import annotations

import json
import time

from adapters.discord.inbound import thread_key
from core.llm.base import LLMResponse, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage, ToolCall
from tests.scenarios.discord.conftest import BotFactory, World, all_text, link_urls

PROMPT = "clip the first two seconds of the quarterly review"


def director_script(seen: list[list[str]]) -> ScriptedLLM:
    """Upload / clip on request; for anything else, say what the person asked before."""

    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        last_user = max(i for i, m in enumerate(messages) if m.role == "user")
        if any(m.role == "tool" for m in messages[last_user:]):
            return LLMResponse(content="Here you go.")
        text = messages[last_user].content or ""
        if text.startswith("upload"):
            return LLMResponse(tool_calls=[ToolCall(id="u1", name="upload", arguments="{}")])
        if text.startswith("clip"):
            args = {"video": "quarterly", "start": 0, "end": 2}
            return LLMResponse(tool_calls=[ToolCall(id="c1", name="clip", arguments=json.dumps(args))])
        earlier = [m.content or "" for m in messages[:last_user] if m.role == "user"]
        seen.append(earlier)
        return LLMResponse(content=f"Before, you asked: {earlier[-1] if earlier else 'nothing'}")

    return ScriptedLLM(script)


async def test_ask_runs_in_a_new_thread_and_follow_ups_share_the_session(
    discord_bot: BotFactory, world: World, talk_video: bytes
) -> None:
    fake = world.fake
    seen: list[list[str]] = []
    bot = await discord_bot(llm=director_script(seen))

    file = fake.add_attachment(world.channel, "quarterly review.mp4", talk_video, "video/mp4")
    upload = await fake.slash(world.guild, world.channel, "upload", {"file": file})
    assert "Done" in (await bot.final_job(await bot.thread_of(upload), timeout=120))["content"]

    sent_at = time.monotonic()
    ask = await fake.slash(world.guild, world.channel, "ask", {"prompt": PROMPT})
    [callback] = await fake.wait_for(lambda: fake.callbacks(ask))
    assert callback.body["type"] == 5  # deferred, "thinking"
    assert callback.at - sent_at < 3.0

    thread = await bot.thread_of(ask)
    assert fake.channels[thread]["parent_id"] == str(world.channel)
    assert fake.channels[thread]["name"] == PROMPT
    job = await bot.final_job(thread, timeout=120)
    assert [m["id"] for m in bot.job_messages(thread)] == [job["id"]]
    assert "Done" in job["content"] and "Here you go." in all_text(job)
    assert len(fake.edits_of(int(job["id"]))) >= 2  # progress, then the final state

    links = link_urls(job)
    async with bot.http.get(links["▶ Watch"]) as page:
        assert page.status == 200 and "<video" in await page.text()
    async with bot.http.get(links["⬇ MP4"]) as mp4:
        assert mp4.status == 200 and (await mp4.read())[4:8] == b"ftyp"
    [attached] = job["attachments"]
    assert attached["filename"] == "clip.mp4"

    await fake.user_message(world.guild, thread, "what did I ask before?", mention_bot=True)
    second = await bot.final_job(thread, index=1, timeout=60)
    assert f"Before, you asked: {PROMPT}" in all_text(second)
    assert seen == [[PROMPT]]

    again = await fake.slash(world.guild, thread, "ask", {"prompt": "and before that?"})
    assert await bot.thread_of(again) == thread
    third = await bot.final_job(thread, index=2, timeout=60)
    assert "Before, you asked: what did I ask before?" in all_text(third)
    assert len(fake.threads_of(world.channel)) == 2  # the upload's and the ask's; follow-ups opened none


async def test_plain_thread_messages_need_the_content_intent(discord_bot: BotFactory, world: World) -> None:
    fake = world.fake
    bot = await discord_bot(DISCORD_MESSAGE_CONTENT=True)
    assert fake.content_intent()
    ask = await fake.slash(world.guild, world.channel, "help")
    thread = await bot.thread_of(ask)
    await bot.final_job(thread)

    await fake.user_message(world.guild, thread, "videos")  # no mention: read thanks to the intent
    listing = await bot.final_job(thread, index=1)
    assert "Videos in this channel" in all_text(listing)

    await fake.user_message(world.guild, world.channel, "videos")  # outside a session thread: ignored
    assert len(fake.threads_of(world.channel)) == 1


async def test_without_the_intent_only_mentions_are_read(discord_bot: BotFactory, world: World) -> None:
    fake = world.fake
    bot = await discord_bot()
    assert not fake.content_intent()
    ask = await fake.slash(world.guild, world.channel, "help")
    thread = await bot.thread_of(ask)
    await bot.final_job(thread)
    await fake.user_message(world.guild, thread, "videos")
    await fake.user_message(world.guild, thread, "videos", mention_bot=True)
    await bot.final_job(thread, index=1)
    assert len(bot.job_messages(thread)) == 2


async def test_system_and_empty_messages_in_a_session_thread_start_no_job(discord_bot: BotFactory,
                                                                          world: World) -> None:
    fake = world.fake
    bot = await discord_bot(DISCORD_MESSAGE_CONTENT=True)
    ask = await fake.slash(world.guild, world.channel, "help")
    thread = await bot.thread_of(ask)
    await bot.final_job(thread)

    await fake.user_message(world.guild, thread, "a better name", message_type=4)  # renamed the thread
    await fake.user_message(world.guild, thread, "")  # a sticker alone: no text, no files
    await fake.user_message(world.guild, thread, "videos")
    listing = await bot.final_job(thread, index=1)
    assert "Videos in this channel" in all_text(listing)
    session = await bot.app.store.sessions.find(thread_key(world.guild, world.channel, thread))
    assert session is not None
    assert len(await bot.app.store.turns.for_session(session.id)) == 2  # help, videos: nothing else
