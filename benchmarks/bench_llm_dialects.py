"""Ten ordinary requests against a real OpenAI-compatible server (run by hand).

    OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_MODEL=qwen2.5-coder-1.5b \
        python benchmarks/bench_llm_dialects.py

Runs the bot's own App (local video backend, a sample talk made with espeak-ng) in
one thread, request after request as a person would type them, and prints for
each: the tools it called, whether the expected one was among them, seconds, and
whether raw tool-call text reached the answer. Then: how many of the 10 chose the
right tool, seconds per turn, and the model calls' prompt/completion tokens.
`OPENAI_API_KEY` (default "local"), `LLM_TOOL_MODE`, `LLM_TIMEOUT_S` apply as usual.
Without `OPENAI_BASE_URL` it says so and exits 2. The figures are in docs/llm.md.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.settings import Settings  # noqa: E402
from bot.wiring import build_app, build_llm  # noqa: E402
from core.incoming import Incoming, ThreadKey  # noqa: E402
from core.llm.base import BaseLLM, LLMResponse, TextSink, ToolSpec  # noqa: E402
from core.messages import Attachment, ContextMessage  # noqa: E402
from core.video.local.sample import make_sample_talk  # noqa: E402

REQUESTS: list[tuple[str, str]] = [
    ("upload talk.mp4", "upload"),
    ("what videos do we have?", "videos"),
    ("where do they talk about revenue?", "search"),
    ("make a clip of that", "clip"),
    ("summarize the talk", "summarize"),
    ("show me the transcript of the talk", "transcript"),
    ("grab a still image of the talk at 5 seconds", "frame"),
    ("make one video of the moments where they mention the editor and the customers", "compile"),
    ("find videos with quarterly in the title", "find_videos"),
    ("give me a link to watch the whole talk", "stream_video"),
]
RAW_CALL = re.compile(r'```|<tool_call|<function|\{"(name|tool)"\s*:')


class Recorder(BaseLLM):
    """Passes every call to the real LLM and keeps its responses and latency."""

    def __init__(self, inner: BaseLLM) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[tuple[LLMResponse, float]] = []

    @property  # type: ignore[override]
    def can_stream(self) -> bool:
        return self.inner.can_stream

    async def _timed(self, call: object) -> LLMResponse:
        started = time.perf_counter()
        response = await call  # type: ignore[misc]
        self.calls.append((response, time.perf_counter() - started))
        return response

    async def chat(self, messages: list[ContextMessage], tools: list[ToolSpec] | None = None) -> LLMResponse:
        return await self._timed(self.inner.chat(messages, tools))

    async def chat_stream(self, messages: list[ContextMessage], tools: list[ToolSpec] | None,
                          on_text: TextSink) -> LLMResponse:
        return await self._timed(self.inner.chat_stream(messages, tools, on_text))

    async def complete(self, system: str, prompt: str) -> str:
        return await self.inner.complete(system, prompt)

    async def close(self) -> None:
        await self.inner.close()


async def main() -> int:
    if not os.environ.get("OPENAI_BASE_URL"):
        print("Set OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1 for llama-server) and OPENAI_MODEL.")
        return 2
    os.environ.setdefault("OPENAI_API_KEY", "local")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        talk = await make_sample_talk(root / "talk.mp4", size="320x240")
        settings = Settings(_env_file=None, DIRECTOR_DATA_DIR=root / "data", MEDIA_PORT=0,  # type: ignore[call-arg]
                            LOG_LEVEL="WARNING")
        llm = Recorder(build_llm(settings))
        app = await build_app(settings, llm=llm)
        await app.start()
        thread = ThreadKey(platform="bench", workspace_id="w", channel_id="c", thread_id="t")
        rows, seconds, right = [], [], 0
        print(f"model {settings.openai_model} at {settings.openai_base_url} (tool mode {settings.llm_tool_mode})")
        try:
            for number, (text, expected) in enumerate(REQUESTS, start=1):
                attachments = [Attachment(name="talk.mp4", local_path=str(talk))] if expected == "upload" else []
                before = len(llm.calls)
                started = time.perf_counter()
                accepted = await app.conversations.accept(Incoming(
                    thread=thread, user_id="u", text=text, attachments=attachments, event_keys=[f"bench:{number}"]))
                assert accepted is not None
                status = await app.conversations.wait(accepted.turn.turn_id)
                took = time.perf_counter() - started
                output, _ref = await app.store.turns.load_output(accepted.turn.turn_id)
                called = [call.name for response, _ in llm.calls[before:] for call in response.tool_calls]
                ok = expected in called
                raw = bool(RAW_CALL.search(output.text()))
                right += ok
                seconds.append(took)
                rows.append((number, text, expected, called, ok, status.value, took, raw, output.text()))
                print(f"{number:2d}. {'ok ' if ok else 'NO '} {took:6.1f}s  {status.value:9s} expected {expected:12s} "
                      f"called {','.join(called) or '-':30s} raw-json={raw}  {text!r}")
                if not ok:
                    print(f"      answer: {' '.join(output.text().split())[:200]!r}")
        finally:
            await app.stop()
    tokens = [(r.prompt_tokens, r.completion_tokens) for r, _ in llm.calls if r.prompt_tokens is not None]
    print(f"\nright tool: {right}/{len(REQUESTS)}   raw tool-call text shown: {sum(r[7] for r in rows)}   "
          f"failed turns: {sum(r[5] != 'succeeded' for r in rows)}")
    print(f"seconds per turn: median {statistics.median(seconds):.1f}, mean {statistics.mean(seconds):.1f}, "
          f"max {max(seconds):.1f}; model calls: {len(llm.calls)}, "
          f"median {statistics.median([t for _, t in llm.calls]):.1f}s each")
    if tokens:
        print(f"prompt tokens: first call {tokens[0][0]}, median {statistics.median(t[0] for t in tokens):.0f}; "
              f"completion tokens: median {statistics.median(t[1] or 0 for t in tokens):.0f}, "
              f"max {max(t[1] or 0 for t in tokens)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
