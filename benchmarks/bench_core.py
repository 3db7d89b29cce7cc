"""Core benchmark (run by hand): `python benchmarks/bench_core.py`.

Prints:
- the core's own CPU cost per turn: accept → runner → engine → agent → publish, with an
  instant scripted LLM and an instant agent (turns/s and ms/turn, wall and CPU);
- first-turn prompt tokens for collections of 10, 1,000 and 10,000 videos (must be flat).
"""

from __future__ import annotations

import asyncio
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


async def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        await cost_per_turn(Path(scratch) / "a")
        await prompt_tokens(Path(scratch) / "b")


if __name__ == "__main__":
    asyncio.run(main())
