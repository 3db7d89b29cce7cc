"""A deterministic LLM written as a plain function, for tests and benchmarks.

    def script(messages, tools):
        if not any(m.role == "tool" for m in messages):
            return LLMResponse(tool_calls=[ToolCall(id="1", name="videos", arguments="{}")])
        return LLMResponse(content="Here are your videos.")

    llm = ScriptedLLM(script)
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Union

from core.llm.base import BaseLLM, LLMResponse, ToolSpec
from core.messages import ContextMessage

Script = Callable[[list[ContextMessage], list[ToolSpec]], Union[LLMResponse, Awaitable[LLMResponse]]]


class ScriptedLLM(BaseLLM):
    name = "scripted"

    def __init__(self, script: Script, can_generate: bool = True) -> None:
        self._script = script
        self.can_generate = can_generate
        self.calls: list[list[ContextMessage]] = []

    async def chat(self, messages: list[ContextMessage], tools: list[ToolSpec] | None = None) -> LLMResponse:
        self.calls.append(list(messages))
        result = self._script(list(messages), list(tools or []))
        if inspect.isawaitable(result):
            result = await result
        return result
