"""The one interface the reasoning engine and agents use to talk to a model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pydantic import BaseModel, Field

from core.messages import ContextMessage, ToolCall


class ToolSpec(BaseModel):
    """A tool offered to the model; `parameters` is a JSON schema object."""

    name: str
    description: str
    parameters: dict[str, Any]


class LLMResponse(BaseModel):
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class BaseLLM(ABC):
    """Chat with tool calling.

    `can_generate` is False for the offline router: agents that need free text
    (summaries) then fall back to something that needs no model, and say so.
    """

    name: str = "abstract"
    can_generate: bool = True

    @abstractmethod
    async def chat(self, messages: list[ContextMessage], tools: list[ToolSpec] | None = None) -> LLMResponse:
        """One model call. Raise `LLMError`/`LLMTimeout` after retries are spent."""

    async def complete(self, system: str, prompt: str) -> str:
        """Plain text generation (summaries)."""
        response = await self.chat([ContextMessage.system(system), ContextMessage.user(prompt)])
        return response.content or ""

    async def close(self) -> None:
        return None
