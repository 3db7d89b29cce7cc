"""The one interface the reasoning engine and agents use to talk to a model.

`chat` is required. Streaming is optional, as in pydantic-ai's `Model.request_stream`:
a model that can stream sets `can_stream` and implements `chat_stream`; the engine
checks the flag, and the default `chat_stream` raises `NotImplementedError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, ValidationError

from core.llm.tool_schema import compact_schema
from core.messages import ContextMessage, ToolCall

TextSink = Callable[[str], None]
"""Receives answer text as it arrives (a delta each call). Never raw tool-call text."""


class ToolSpec(BaseModel):
    """A tool offered to the model; `parameters` is a JSON schema object.

    Built with `from_model`, a spec also knows how to check arguments against the
    pydantic model they come from, so a tool call the model wrote as text can be
    accepted only when it would validate.
    """

    name: str
    description: str
    parameters: dict[str, Any]

    _validate: Callable[[dict[str, Any]], object] | None = PrivateAttr(default=None)

    @classmethod
    def from_model(cls, name: str, description: str, params: type[BaseModel]) -> "ToolSpec":
        spec = cls(name=name, description=description, parameters=compact_schema(params.model_json_schema()))
        spec._validate = params.model_validate
        return spec

    def problem_with(self, arguments: dict[str, Any]) -> str | None:
        """Why `arguments` would be refused, or None if they are acceptable."""
        if self._validate is not None:
            try:
                self._validate(arguments)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"]) or "arguments"
                return f"{where}: {first['msg']}"
            return None
        missing = [key for key in self.parameters.get("required", []) if key not in arguments]
        if missing:
            return f"missing {', '.join(missing)}"
        known = self.parameters.get("properties")
        if isinstance(known, dict) and self.parameters.get("additionalProperties") is False:
            unknown = [key for key in arguments if key not in known]
            if unknown:
                return f"unknown {', '.join(unknown)}"
        return None


class LLMResponse(BaseModel):
    """One model answer: prose, tool calls, or both.

    `rejected_calls` says why text that looked like tool calls was not accepted
    (unknown tool, bad arguments); that text is left out of `content`, so a person
    never sees raw tool-call JSON. `calls_from_text` marks calls parsed from text.
    """

    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    rejected_calls: list[str] = Field(default_factory=list)
    calls_from_text: bool = False


class BaseLLM(ABC):
    """Chat with tool calling.

    `can_generate` is False for the offline router: agents that need free text
    (summaries) then fall back to something that needs no model, and say so.
    """

    name: str = "abstract"
    can_generate: bool = True
    can_stream: bool = False

    @abstractmethod
    async def chat(self, messages: list[ContextMessage], tools: list[ToolSpec] | None = None) -> LLMResponse:
        """One model call. Raise `LLMError`/`LLMTimeout` after retries are spent."""

    async def chat_stream(self, messages: list[ContextMessage], tools: list[ToolSpec] | None,
                          on_text: TextSink) -> LLMResponse:
        """Like `chat`, calling `on_text` with answer text as it arrives; optional."""
        raise NotImplementedError(f"{self.name} does not stream")

    async def complete(self, system: str, prompt: str) -> str:
        """Plain text generation (summaries)."""
        response = await self.chat([ContextMessage.system(system), ContextMessage.user(prompt)])
        return response.content or ""

    async def close(self) -> None:
        return None
