"""With OPENAI_API_KEY and OPENAI_BASE_URL set, the App talks to that server through
the real openai client: a sentence becomes tool calls, and follow-ups see the thread."""

from __future__ import annotations

import json

from core.incoming import Incoming, ThreadKey
from core.llm.openai_llm import OpenAILLM
from core.messages import TextCard, VideosCard
from core.turns import TurnStatus
from tests.conftest import AppFactory
from tests.fakes.openai_server import reply_text, reply_tool_calls, running_openai_server
from tests.helpers.ports import RecordingPort


def said(text: str, key: str) -> Incoming:
    thread = ThreadKey(platform="test", workspace_id="w", channel_id="c", thread_id="t")
    return Incoming(thread=thread, user_id="u", text=text, event_keys=[key])


async def test_a_sentence_runs_agents_through_an_openai_compatible_server(make_app: AppFactory) -> None:
    async with running_openai_server() as fake:
        fake.enqueue(reply_tool_calls(("videos", {})), reply_text("Your channel has no videos yet."),
                     reply_text("You asked about your videos a moment ago."))
        port = RecordingPort()
        app = await make_app(ports=[port], OPENAI_API_KEY="sk-test-nl", OPENAI_BASE_URL=fake.base_url,
                             OPENAI_MODEL="local-model")
        assert isinstance(app.llm, OpenAILLM)

        first = await app.conversations.accept(said("what videos do we have?", "k1"))
        assert await app.conversations.wait(first.turn.turn_id) is TurnStatus.succeeded
        message = port.published[first.turn.turn_id]
        assert message.cards_of(VideosCard) and message.text() == "Your channel has no videos yet."

        second = await app.conversations.accept(said("what did I just ask?", "k2"))
        await app.conversations.wait(second.turn.turn_id)
        assert port.published[second.turn.turn_id].cards_of(TextCard)[-1].text.startswith("You asked")

        body = fake.requests[-1].body
        assert body["model"] == "local-model"
        roles = [m["role"] for m in body["messages"]]
        assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]
        assert json.loads(body["messages"][3]["content"])["status"] == "success"
        assert fake.requests[0].headers["Authorization"] == "Bearer sk-test-nl"
