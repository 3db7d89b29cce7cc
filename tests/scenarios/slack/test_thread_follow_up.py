"""A reply in a session's thread continues it without a mention, with memory."""

from __future__ import annotations

from core.llm.base import LLMResponse, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage
from tests.fakes.slack_api import BOT_ID, FakeSlack, mention, message
from tests.scenarios.slack.conftest import BotFactory

CHANNEL = "C1"


def remembering(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
    said = [m.content for m in messages if m.role == "user"]
    return LLMResponse(content="I heard: " + " | ".join(s or "" for s in said))


async def test_follow_up_without_mention_continues_the_session(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    llm = ScriptedLLM(remembering)
    bot = await slack_bot(llm=llm)
    first = mention(CHANNEL, "my name is *Ann* &amp; I like <https://a.test/x|clips>")
    await bot.send(first)
    card = await bot.final_card(CHANNEL, first["ts"])
    assert "my name is *Ann* &amp; I like clips (https://a.test/x)" in card.all_text()  # escaped, as Slack expects

    # Noise that must not start a turn: our own edits, a bot's post, a top-level message.
    await bot.send(message(CHANNEL, "edited", thread_ts=first["ts"], subtype="message_changed"))
    await bot.send(message(CHANNEL, "beep", thread_ts=first["ts"], bot_id="B999"))
    await bot.send(message(CHANNEL, "I am ours", thread_ts=first["ts"], bot_id=BOT_ID, user="UBOT"))
    await bot.send(message(CHANNEL, "not in a thread", thread_ts=None))
    await bot.send(message("C2", "a thread we never joined", thread_ts="1500000000.000001"))

    follow_up = message(CHANNEL, "what is my name?", thread_ts=first["ts"])
    await bot.send(follow_up)
    second = await bot.final_card(CHANNEL, first["ts"], index=1)
    assert "my name is *Ann*" in second.all_text() and "what is my name?" in second.all_text()
    assert len(llm.calls) == 2
    history = [m.content for m in llm.calls[1] if m.role == "user"]
    assert any("my name is" in (h or "") for h in history)
    assert len(bot.cards(CHANNEL, first["ts"])) == 2
    assert fake_slack.calls("chat.postMessage") == 2
