"""With OPENAI_API_KEY and OPENAI_BASE_URL set, the App talks to that server through
the real openai client: a sentence becomes tool calls, and follow-ups see the thread,
whatever the server's dialect (text tool calls, strict message shapes, json mode), and
one refused turn never breaks the thread."""

from __future__ import annotations

import json
from typing import Any

from core.incoming import Incoming, ThreadKey
from core.llm.openai_llm import OpenAILLM
from core.messages import TextCard, VideosCard
from core.turns import TurnStatus
from tests.conftest import AppFactory
from tests.fakes.openai_server import (
    FakeOpenAIServer,
    like_llama_cpp_python,
    like_llama_server,
    reply_error,
    reply_text,
    reply_text_call,
    reply_tool_calls,
    running_openai_server,
)
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
        assert roles == ["system", "system", "user", "assistant", "tool", "assistant", "user"]
        assert json.loads(body["messages"][4]["content"])["status"] == "success"
        assert fake.requests[0].headers["Authorization"] == "Bearer sk-test-nl"


async def local_app(make_app: AppFactory, fake: FakeOpenAIServer, **settings: str) -> tuple[Any, RecordingPort]:
    port = RecordingPort()
    app = await make_app(ports=[port], OPENAI_API_KEY="local", OPENAI_BASE_URL=fake.base_url, **settings)
    return app, port


async def run_turn(app: Any, text: str, key: str) -> tuple[TurnStatus, str]:
    accepted = await app.conversations.accept(said(text, key))
    return await app.conversations.wait(accepted.turn.turn_id), accepted.turn.turn_id


async def test_a_small_local_model_that_writes_its_calls_as_text(make_app: AppFactory) -> None:
    """llama-server with a ≤2B model: no native tool_calls, strict about message shapes."""
    async with running_openai_server() as fake:
        fake.checks += [like_llama_cpp_python, like_llama_server]
        fake.enqueue(reply_text_call("videos", {}, "fenced", prose="Let me check."),
                     reply_text(json.dumps({"tool": "answer", "arguments": {"text": "There are no videos yet."}})))
        app, port = await local_app(make_app, fake, OPENAI_MODEL="qwen2.5-coder-1.5b-instruct")

        status, turn_id = await run_turn(app, "what videos do we have?", "k1")

        assert status is TurnStatus.succeeded
        message = port.published[turn_id]
        assert message.cards_of(VideosCard) and message.text() == "There are no videos yet."
        shown = json.dumps(message.model_dump(mode="json")["content"])
        assert '\\"name\\"' not in shown and "```" not in shown  # no raw call anywhere in the cards
        first, second = (r.body for r in fake.requests)
        assert first["tool_choice"] == "auto" and len(first["tools"]) == 11  # the local backend's tools
        assert "tools" not in second and second["response_format"]["type"] == "json_schema"


async def test_one_refused_turn_does_not_poison_the_thread(make_app: AppFactory) -> None:
    async with running_openai_server() as fake:
        fake.checks.append(like_llama_cpp_python)
        fake.enqueue(reply_tool_calls(("videos", {})),
                     reply_error(500, "Failed to parse tool call arguments as JSON"),  # not retried
                     reply_text("Hello! Ask me about your videos."))
        app, port = await local_app(make_app, fake, LLM_TOOL_MODE="native")

        assert (await run_turn(app, "list the videos", "k1"))[0] is TurnStatus.failed
        status, turn_id = await run_turn(app, "hello", "k2")

        assert status is TurnStatus.succeeded
        assert len(fake.requests) == 3
        replayed = fake.requests[-1].body["messages"]
        assert [m["role"] for m in replayed] == ["system", "system", "user", "assistant", "user"]
        assert "This request failed" in replayed[3]["content"] and "videos:" in replayed[3]["content"]
        assert port.published[turn_id].text() == "Hello! Ask me about your videos."


async def test_llm_tool_mode_json_never_sends_tools(make_app: AppFactory) -> None:
    async with running_openai_server() as fake:
        fake.enqueue(reply_text('{"tool": "videos", "arguments": {}}'),
                     reply_text('{"tool": "answer", "arguments": {"text": "None yet."}}'))
        app, port = await local_app(make_app, fake, LLM_TOOL_MODE="json")

        status, turn_id = await run_turn(app, "videos?", "k1")

        assert status is TurnStatus.succeeded and port.published[turn_id].text() == "None yet."
        assert all("tools" not in r.body and "response_format" in r.body for r in fake.requests)
