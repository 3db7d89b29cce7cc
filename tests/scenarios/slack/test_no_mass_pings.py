"""What a person typed or a model wrote never becomes a ping: every field Slack renders
(the `text` fallback, blocks, attachments) shows `<!channel>`, `<!here>`, `<@U…>` as
words, escaped. Checked on what the fake Slack received from the real slack_sdk client."""

from __future__ import annotations

import re
from typing import Any

from core.llm.base import LLMResponse, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage
from tests.fakes.slack_api import FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory

# A literal "<!channel>" typed in Slack arrives entity-escaped; decoding makes it a real token.
TYPED = "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U0ADMIN&gt; &lt;!subteam^S0TEAM&gt;"
TOKEN = re.compile(r"<[!@#]")
SENDS = ("chat.postMessage", "chat.update", "chat.postEphemeral")


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return []


def sent_strings(fake: FakeSlack) -> list[str]:
    """Every string the bot sent in a field Slack renders."""
    return [s for r in fake.requests if r.method in SENDS
            for key in ("text", "blocks", "attachments") for s in strings(r.params.get(key))]


async def test_typed_tokens_are_echoed_escaped_everywhere(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    bot = await slack_bot()
    event = mention("C1", f"find {TYPED}")
    await bot.send(event)
    card = await bot.final_card("C1", event["ts"])
    assert "&lt;!channel&gt;" in card.text and "&lt;@U0ADMIN&gt;" in card.text  # shown, as words
    assert sent_strings(fake_slack) and not [s for s in sent_strings(fake_slack) if TOKEN.search(s)]


async def test_a_models_answer_never_pings(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        return LLMResponse(content="Hey <!channel> and <!here>, see <@U0ADMIN> and <!subteam^S1|@team> "
                                   "[a link](https://x.test/<!everyone>) `<!here>`")

    bot = await slack_bot(llm=ScriptedLLM(script))
    event = mention("C1", "say hello to everyone")
    await bot.send(event)
    card = await bot.final_card("C1", event["ts"])
    assert "&lt;!channel&gt;" in card.text and "&lt;!channel&gt;" in card.all_text()
    assert not [s for s in sent_strings(fake_slack) if TOKEN.search(s)]


async def test_command_replies_quote_what_was_typed_escaped(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U0USER", is_admin=True)
    bot = await slack_bot()
    event = mention("C1", "collection bind &lt;!channel&gt;")
    await bot.send(event)
    [reply] = await fake_slack.wait_until(lambda: fake_slack.thread("C1", event["ts"]))
    assert "&lt;!channel&gt;" in reply.text
    assert not [s for s in sent_strings(fake_slack) if TOKEN.search(s)]
