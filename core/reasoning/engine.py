"""The reasoning engine: the seed's tool-calling loop, with its weak points fixed.

- an iteration cap, then a final answer without tools;
- independent tool calls of one step run concurrently;
- agents put artifacts on the OutputMessage themselves (the final prose can't drop a link);
- an error that a later call of the same agent recovered from does not fail the turn,
  and its stale error card is updated;
- the prompt is bounded (see `prompt.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.errors import DirectorError
from core.llm.base import BaseLLM, LLMResponse, ToolSpec
from core.messages import CardStatus, ContextMessage, InputMessage, MsgStatus, TextCard, ToolCall
from core.reasoning.prompt import clip_tool_output, system_message, trim_history

log = logging.getLogger(__name__)


@dataclass
class EngineLimits:
    max_iterations: int = 8
    history_tokens: int = 6000
    recent_videos: int = 20
    tool_output_chars: int = 4000


@dataclass
class TurnOutcome:
    status: MsgStatus
    context: list[ContextMessage]  # what this turn adds to the session's LLM history
    error: str | None = None


@dataclass
class _Ledger:
    """Per-agent record of this turn's errors, to resolve ones a later call fixed."""

    open_errors: dict[str, list[str]] = field(default_factory=dict)  # agent -> error card ids
    succeeded: bool = False


class ReasoningEngine:
    def __init__(self, llm: BaseLLM, agents: Sequence[BaseAgent], limits: EngineLimits | None = None) -> None:
        self.llm = llm
        self.agents = {agent.name: agent for agent in agents}
        self.limits = limits or EngineLimits()

    def tool_specs(self) -> list[ToolSpec]:
        return [agent.tool_spec() for agent in self.agents.values()]

    async def first_messages(self, ctx: AgentContext, input_message: InputMessage,
                             history: list[list[ContextMessage]]) -> list[ContextMessage]:
        """The prompt for the first model call of a turn (bounded)."""
        scope = ctx.session.collection
        overview = await scope.overview(recent=self.limits.recent_videos)
        caps = sorted(c.value for c in scope.backend.capabilities)
        system = system_message(overview, scope.backend_name, caps, self.limits.recent_videos)
        past, _dropped = trim_history(history, self.limits.history_tokens)
        return [system, *past, ContextMessage.user(self._user_text(input_message))]

    @staticmethod
    def _user_text(message: InputMessage) -> str:
        text = message.text.strip()
        if message.attachments:
            names = ", ".join(f"#{i + 1} {a.name}" for i, a in enumerate(message.attachments))
            text += f"\n[Attached files: {names}. Use the upload tool with attachment=<number> for videos.]"
        return text

    async def run(self, ctx: AgentContext, input_message: InputMessage,
                  history: list[list[ContextMessage]]) -> TurnOutcome:
        messages = await self.first_messages(ctx, input_message, history)
        added: list[ContextMessage] = [messages[-1]]
        tools = self.tool_specs()
        ledger = _Ledger()
        ctx.output.status = MsgStatus.progress
        ctx.output.push_update()

        for _ in range(self.limits.max_iterations):
            response = await self._chat(ctx, messages, tools)
            if response is None:
                return TurnOutcome(MsgStatus.error, added, "the language model failed")
            if not response.tool_calls:
                self._final_text(ctx, response.content)
                added.append(ContextMessage.assistant(response.content))
                return TurnOutcome(self._status(ctx, ledger), added)
            step = ContextMessage.assistant(response.content, response.tool_calls)
            messages.append(step)
            added.append(step)
            results = await self._call_tools(ctx, response.tool_calls, ledger)
            messages.extend(results)
            added.extend(results)

        # Iteration cap reached: ask for a final answer with no tools on offer.
        messages.append(ContextMessage.system("Stop calling tools now and answer the person briefly."))
        response = await self._chat(ctx, messages, None)
        if response is not None:
            self._final_text(ctx, response.content)
            added.append(ContextMessage.assistant(response.content))
        return TurnOutcome(self._status(ctx, ledger), added)

    async def _chat(self, ctx: AgentContext, messages: list[ContextMessage],
                    tools: list[ToolSpec] | None) -> LLMResponse | None:
        try:
            return await self.llm.chat(messages, tools)
        except DirectorError as exc:
            log.warning("llm call failed: %s", exc.user_message)
            ctx.output.add_card(TextCard(agent_name="director", status=CardStatus.error,
                                         status_message=exc.user_message))
            return None

    def _final_text(self, ctx: AgentContext, content: str | None) -> None:
        if content and content.strip():
            ctx.output.add_card(TextCard(agent_name="director", text=content.strip()))
        ctx.output.push_update()

    async def _call_tools(self, ctx: AgentContext, calls: list[ToolCall], ledger: _Ledger) -> list[ContextMessage]:
        for call in calls:
            ctx.output.add_action(f"Running @{call.name}")
        ctx.output.push_update()
        responses = await asyncio.gather(*(self._call_one(ctx, call, ledger) for call in calls))
        return [
            ContextMessage.tool(call, clip_tool_output(self._tool_text(result), self.limits.tool_output_chars))
            for call, result in zip(calls, responses)
        ]

    @staticmethod
    def _tool_text(result: AgentResponse) -> str:
        payload = {"status": result.status.value, "message": result.message}
        if result.data:
            payload["data"] = result.data
        return json.dumps(payload, default=str, ensure_ascii=False)

    async def _call_one(self, ctx: AgentContext, call: ToolCall, ledger: _Ledger) -> AgentResponse:
        before = {card.id for card in ctx.output.content}
        agent = self.agents.get(call.name)
        if agent is None:
            known = ", ".join(sorted(self.agents))
            result = AgentResponse.error(f"Unknown tool {call.name!r}. Available tools: {known}.")
        else:
            log.info("tool call", extra={"tool": call.name, "session": ctx.session.id})
            result = await agent.safe_call(ctx, call.arguments)
        if result.succeeded:
            self._resolve_errors(ctx, call.name, ledger)
            ledger.succeeded = True
        else:
            self._record_error(ctx, call.name, result.message, before, ledger)
        ctx.output.push_update()
        return result

    @staticmethod
    def _record_error(ctx: AgentContext, agent_name: str, message: str, before: set[str], ledger: _Ledger) -> None:
        """Show the error (unless the agent already did) and remember it until a retry succeeds."""
        error_cards = [c.id for c in ctx.output.content
                       if c.id not in before and c.agent_name == agent_name and c.status is CardStatus.error]
        if not error_cards:
            card = ctx.output.add_card(TextCard(agent_name=agent_name, status=CardStatus.error,
                                                status_message=message))
            error_cards = [card.id]
        ledger.open_errors.setdefault(agent_name, []).extend(error_cards)

    @staticmethod
    def _resolve_errors(ctx: AgentContext, agent_name: str, ledger: _Ledger) -> None:
        for card_id in ledger.open_errors.pop(agent_name, []):
            for card in ctx.output.content:
                if card.id == card_id:
                    card.status = CardStatus.success
                    card.status_message = f"Recovered on retry (earlier: {card.status_message})"

    @staticmethod
    def _status(ctx: AgentContext, ledger: _Ledger) -> MsgStatus:
        unresolved = any(ledger.open_errors.values())
        status = MsgStatus.error if unresolved and not ledger.succeeded else MsgStatus.success
        for card in ctx.output.content:  # no card may stay "in progress" once the turn is over
            if card.status is CardStatus.progress:
                card.status = CardStatus.success if status is MsgStatus.success else CardStatus.error
        return status
