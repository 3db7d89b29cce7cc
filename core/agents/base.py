"""`BaseAgent`, its context and result, and `safe_call`, which never raises."""

from __future__ import annotations

import asyncio
import enum
import functools
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import DirectorError
from core.llm.base import BaseLLM, ToolSpec
from core.messages import Attachment, CardStatus, OutputMessage, TextCard
from core.session import Session
from core.video.backend import Capability

log = logging.getLogger(__name__)

AttachmentFetcher = Callable[[Attachment, Path, int], Awaitable[Path]]
"""Downloads a platform attachment to a path (with the platform's auth), capped in bytes."""


class AgentStatus(str, enum.Enum):
    success = "success"
    error = "error"


class AgentResponse(BaseModel):
    status: AgentStatus
    message: str
    data: dict[str, Any] = {}

    @classmethod
    def ok(cls, message: str, **data: Any) -> "AgentResponse":
        return cls(status=AgentStatus.success, message=message, data=data)

    @classmethod
    def error(cls, message: str, **data: Any) -> "AgentResponse":
        return cls(status=AgentStatus.error, message=message, data=data)

    @property
    def succeeded(self) -> bool:
        return self.status is AgentStatus.success


@dataclass
class AgentContext:
    """Everything an agent may use. The collection comes from the session only."""

    session: Session
    output: OutputMessage
    llm: BaseLLM
    attachments: list[Attachment] = field(default_factory=list)
    fetch_attachment: AttachmentFetcher | None = None
    work_dir: Path = Path(".")
    max_upload_bytes: int = 500 * 1024 * 1024

    def progress_card(self, agent_name: str, message: str) -> TextCard:
        """A card that shows an agent's progress; update it with `report`."""
        card = TextCard(agent_name=agent_name, status=CardStatus.progress, status_message=message)
        self.output.add_card(card)
        self.output.push_update()
        return card

    def reporter(self, card: TextCard) -> Callable[[str, float | None], None]:
        """A `ProgressFn` that shows backend progress on `card` ("indexing… 40%")."""

        def report(message: str, fraction: float | None = None) -> None:
            if card.status is not CardStatus.progress:
                return  # the card has ended; a worker thread still reporting must not reopen it
            text = message if fraction is None else f"{message} {round(fraction * 100)}%"
            if text != card.status_message:
                card.status_message = text
                self.output.push_update()

        return report


P = TypeVar("P", bound=BaseModel)


@functools.cache
def _tool_spec_of(agent_class: type["BaseAgent"]) -> ToolSpec:
    return ToolSpec.from_model(agent_class.name, agent_class.description, agent_class.Params)


class BaseAgent(ABC, Generic[P]):
    """A tool. Subclasses set `name`, `description`, `Params` and implement `run`.

    `requires` names the backend capability the agent cannot run without; the
    engine offers the model only the agents the session's backend can run.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    requires: ClassVar[Capability | None] = None
    timeout_s: float = 900.0

    def tool_spec(self) -> ToolSpec:
        """The tool as offered to the model, built once per agent class.

        Generating a pydantic JSON schema costs about a millisecond per agent, and
        every turn offers every agent; the spec depends only on class attributes.
        """
        return _tool_spec_of(type(self))

    def runs_on(self, capabilities: frozenset[Capability]) -> bool:
        return self.requires is None or self.requires in capabilities

    @abstractmethod
    async def run(self, ctx: AgentContext, params: P) -> AgentResponse: ...

    async def safe_call(self, ctx: AgentContext, raw_arguments: str | dict[str, Any]) -> AgentResponse:
        """Parse, validate and run with a timeout; every failure becomes an error result."""
        try:
            args = json.loads(raw_arguments or "{}") if isinstance(raw_arguments, str) else raw_arguments
        except json.JSONDecodeError as exc:
            return AgentResponse.error(f"Arguments for {self.name} are not valid JSON: {exc.msg}.")
        if not isinstance(args, dict):
            return AgentResponse.error(f"Arguments for {self.name} must be a JSON object.")
        try:
            params = self.Params.model_validate(args)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()
            )
            return AgentResponse.error(f"Invalid arguments for {self.name}: {problems}.")
        ctx.output.use_agent(self.name)
        try:
            return await asyncio.wait_for(self.run(ctx, params), timeout=self.timeout_s)  # type: ignore[arg-type]
        except asyncio.TimeoutError:
            log.warning("agent timed out", extra={"agent": self.name, "timeout_s": self.timeout_s})
            return AgentResponse.error(f"{self.name} took longer than {self.timeout_s:.0f} s and was stopped.")
        except DirectorError as exc:
            return AgentResponse.error(exc.user_message)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("agent failed", extra={"agent": self.name})
            return AgentResponse.error(f"{self.name} failed unexpectedly; the error is in the bot's log.")


def fail_card(ctx: AgentContext, card: TextCard, message: str) -> AgentResponse:
    """Mark `card` as failed with `message` and return the matching error result."""
    card.status = CardStatus.error
    card.status_message = message
    ctx.output.push_update()
    return AgentResponse.error(message)
