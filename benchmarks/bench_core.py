"""Core benchmark (run by hand): `python benchmarks/bench_core.py`.

Prints:
- the core's own CPU cost per turn: accept → runner → engine → agent → publish, with an
  instant scripted LLM and an instant agent (turns/s and ms/turn, wall and CPU);
- first-turn prompt tokens for collections of 10, 1,000 and 10,000 videos (must be flat);
- tool-schema tokens per backend (what the model reads before anything else);
- tokens shared between the first prompts of two consecutive turns, an upload between
  them, rendered the way chat templates do (system text, then the tool list, then the
  messages): what a server with prompt caching can reuse.
Tokens are estimated at 4 characters each.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import BaseModel  # noqa: E402

from bot.settings import Settings  # noqa: E402
from bot.wiring import build_app  # noqa: E402
from core.agents.base import AgentContext, AgentResponse, BaseAgent  # noqa: E402
from core.incoming import Incoming, ThreadKey  # noqa: E402
from core.llm.base import LLMResponse, ToolSpec  # noqa: E402
from core.llm.openai_wire import to_openai_message, to_openai_tool  # noqa: E402
from core.llm.scripted import ScriptedLLM  # noqa: E402
from core.messages import ContextMessage, InputMessage, OutputMessage, TextCard, ToolCall  # noqa: E402
from core.session import CollectionScope, Session  # noqa: E402
from core.storage.models import LocalVideoRow  # noqa: E402

TURNS = 200


class NoParams(BaseModel):
    pass


class InstantAgent(BaseAgent[NoParams]):
    name: ClassVar[str] = "instant"
    description: ClassVar[str] = "Does nothing, instantly."
    Params = NoParams

    async def run(self, ctx: AgentContext, params: NoParams) -> AgentResponse:
        ctx.output.add_card(TextCard(agent_name=self.name, text="ok"))
        return AgentResponse.ok("ok")


def instant_script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
    if messages[-1].role == "user":
        return LLMResponse(tool_calls=[ToolCall(id="c1", name="instant", arguments="{}")])
    return LLMResponse(content="done")


def settings(data_dir: Path) -> Settings:
    return Settings(_env_file=None, DIRECTOR_DATA_DIR=data_dir, MEDIA_PORT=0, LOG_LEVEL="WARNING")  # type: ignore[call-arg]


async def cost_per_turn(data_dir: Path) -> None:
    app = await build_app(settings(data_dir), llm=ScriptedLLM(instant_script), agents=[InstantAgent()])
    await app.start(serve_media=False)
    wall, cpu = time.perf_counter(), time.process_time()
    for number in range(TURNS):
        thread = ThreadKey(platform="bench", workspace_id="w", channel_id="c", thread_id=f"t{number % 20}")
        accepted = await app.conversations.accept(
            Incoming(thread=thread, user_id="u", text="go", event_keys=[f"bench:{number}"]))
        assert accepted is not None
        await app.conversations.wait(accepted.turn.turn_id)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await app.stop()
    print(f"core cost per turn ({TURNS} turns, SQLite, sequential):")
    print(f"  {TURNS / wall:8.1f} turns/s   {1000 * wall / TURNS:6.2f} ms/turn wall   "
          f"{1000 * cpu / TURNS:6.2f} ms/turn CPU")


async def prompt_tokens(data_dir: Path) -> None:
    app = await build_app(settings(data_dir), llm=ScriptedLLM(instant_script))
    print("first-turn prompt size by collection size:")
    for count in (10, 1_000, 10_000):
        collection = await app.backend.create_collection(f"bench {count}")
        async with app.store.sessionmaker.begin() as db:
            db.add_all(LocalVideoRow(id=uuid.uuid4().hex, collection_id=collection.id, name=f"Video {i} of a long series",
                                     file_path="media/x.mp4", duration=60.0 + i, size_bytes=1) for i in range(count))
        session = Session(id="s", key=ThreadKey(platform="b", workspace_id="w", channel_id=str(count), thread_id="t"),
                          collection=CollectionScope(app.backend, collection.id))
        ctx = AgentContext(session=session, output=OutputMessage(), llm=app.llm)
        messages = await app.engine.first_messages(ctx, InputMessage(text="find the pricing talk"), [])
        tools = sum(len(str(spec.model_dump())) for spec in app.engine.tool_specs()) // 4
        tokens = sum(m.approx_tokens() for m in messages)
        print(f"  {count:>6} videos: {tokens:5d} message tokens + {tools} tool-schema tokens")
    await app.stop()


def _tool_tokens(specs: list[ToolSpec]) -> int:
    return len(json.dumps([to_openai_tool(spec) for spec in specs])) // 4


def tool_schema_tokens() -> None:
    from core.agents.registry import agents_for, all_agents
    from core.video.local.backend import LocalBackend
    from core.video.videodb.backend import VideoDBBackend

    print("tool-schema tokens per backend (the tools array as sent):")
    for label, agents in (("local", agents_for(LocalBackend.capabilities)),
                          ("videodb", agents_for(VideoDBBackend.capabilities)), ("all", all_agents())):
        specs = [agent.tool_spec() for agent in agents]
        print(f"  {label:8s} {len(specs):2d} tools  {_tool_tokens(specs):5d} tokens")


def _rendered(messages: list[ContextMessage], tools: list[ToolSpec]) -> str:
    """A prompt as chat templates lay it out: system text, the tool list, then the messages."""
    rest = "\n".join(json.dumps(to_openai_message(m), ensure_ascii=False) for m in messages[1:])
    return f"{messages[0].content}\n{json.dumps([to_openai_tool(t) for t in tools])}\n{rest}"


def _overview_in_system(messages: list[ContextMessage]) -> list[ContextMessage]:
    """The same prompt laid out as before issue 13: the collection overview in the system text."""
    return [ContextMessage.system(f"{messages[0].content}\n\n{messages[1].content}"), *messages[2:]]


async def shared_prefix(data_dir: Path) -> None:
    first_prompts: list[tuple[list[ContextMessage], list[ToolSpec]]] = []

    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        if messages[-1].role == "user":
            first_prompts.append((list(messages), list(tools)))
        return LLMResponse(content="ok")

    app = await build_app(settings(data_dir), llm=ScriptedLLM(script))
    collection = await app.backend.create_collection("bench prefix")
    session = Session(id="s", key=ThreadKey(platform="b", workspace_id="w", channel_id="p", thread_id="t"),
                      collection=CollectionScope(app.backend, collection.id))

    async def add_video(name: str) -> None:  # what an upload changes between turns
        async with app.store.sessionmaker.begin() as db:
            db.add(LocalVideoRow(id=uuid.uuid4().hex, collection_id=collection.id, name=name,
                                 file_path="media/x.mp4", duration=60.0, size_bytes=1))

    for name in ("Keynote", "Standup", "Demo"):
        await add_video(name)
    ctx = AgentContext(session=session, output=OutputMessage(), llm=app.llm)
    first = await app.engine.run(ctx, InputMessage(text="upload talk.mp4"), [])
    await add_video("talk.mp4")
    ctx = AgentContext(session=session, output=OutputMessage(), llm=app.llm)
    await app.engine.run(ctx, InputMessage(text="where do they talk about revenue?"), [first.context])
    await app.stop()
    (one, tools_one), (two, tools_two) = first_prompts
    a, b = _rendered(one, tools_one), _rendered(two, tools_two)
    shared = len(os.path.commonprefix([a, b])) // 4
    before_a, before_b = _rendered(_overview_in_system(one), tools_one), _rendered(_overview_in_system(two), tools_two)
    before = len(os.path.commonprefix([before_a, before_b])) // 4
    print("prompt prefix shared by two consecutive turns (an upload between them):")
    print(f"  {shared} of {len(b) // 4} tokens of the second turn's first prompt ({100 * shared // (len(b) // 4)}%); "
          f"with the overview in the system text as before: {before} of {len(before_b) // 4}")


async def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        await cost_per_turn(Path(scratch) / "a")
        await prompt_tokens(Path(scratch) / "b")
        tool_schema_tokens()
        await shared_prefix(Path(scratch) / "c")


if __name__ == "__main__":
    asyncio.run(main())
