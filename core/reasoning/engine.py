"""The reasoning engine: the seed's tool-calling loop, with its weak points fixed.

- the model is offered only the agents the session's backend can run;
- an iteration cap, then a final answer without tools; a step that only repeats
  calls already made this turn (same tool, same arguments) ends the loop the same way;
- independent tool calls of one step run concurrently;
- agents put artifacts on the OutputMessage themselves (the final prose can't drop a link);
- an error that a later call of the same agent recovered from does not fail the turn,
  and its stale error card is updated;
- the answer streams into its card when the model can stream (`BaseLLM.can_stream`),
  and live events go to observers that take them (`events.py`);
- the prompt is bounded and its prefix stable (see `prompt.py`);
- whatever happens, the turn's context is a valid conversation (see `history.py`).
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
from core.reasoning.events import TextDelta, TextDiscarded, ToolCallFinished, ToolCallStarted
from core.reasoning.history import failed_turn, valid_turn
from core.reasoning.prompt import clip_tool_output, collection_message, system_message, trim_history
from core.video.backend import Capability

log = logging.getLogger(__name__)

CAP_NOTE = "Stop calling tools now and answer the person briefly."
REPEAT_NOTE = ("You already called {calls} with the same arguments in this request; the results are above. "
               "Do not call tools again: answer the person now from what you have.")
NUDGE = ("(Your last message looked like a tool call but could not be used: {reasons}. Call one of the "
         "offered tools with valid arguments, or answer in plain words.)")
NO_ANSWER = "I couldn't turn that into an action. Could you say it another way?"
STOPPED = "I stopped here; the results above are what I found."


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


@dataclass
class _Turn:
    messages: list[ContextMessage]  # the prompt so far
    added: list[ContextMessage]  # what the turn adds to the history
    tools: list[ToolSpec]
    ledger: _Ledger = field(default_factory=_Ledger)
    seen: set[str] = field(default_factory=set)  # call keys already run this turn
    nudged: bool = False


class _LiveText:
    """The card an answer streams into; created on the first delta."""

    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx
        self.card: TextCard | None = None

    def feed(self, delta: str) -> None:
        if self.card is None:
            self.card = self.ctx.output.add_card(TextCard(agent_name="director", text=""))
        self.card.text += delta
        self.ctx.output.emit(TextDelta(self.card.id, delta))
        self.ctx.output.push_update()

    def discard(self) -> None:
        if self.card is not None and self.card in self.ctx.output.content:
            self.ctx.output.content.remove(self.card)
            self.ctx.output.emit(TextDiscarded(self.card.id))
            self.ctx.output.push_update()
        self.card = None


class ReasoningEngine:
    def __init__(self, llm: BaseLLM, agents: Sequence[BaseAgent], limits: EngineLimits | None = None) -> None:
        self.llm = llm
        self.agents = {agent.name: agent for agent in agents}
        self.limits = limits or EngineLimits()

    def tool_specs(self, capabilities: frozenset[Capability] | None = None) -> list[ToolSpec]:
        """The tools offered on a backend with these capabilities (all of them if None)."""
        return [agent.tool_spec() for agent in self.agents.values()
                if capabilities is None or agent.runs_on(capabilities)]

    async def first_messages(self, ctx: AgentContext, input_message: InputMessage,
                             history: list[list[ContextMessage]]) -> list[ContextMessage]:
        """The prompt for the first model call of a turn (bounded; stable prefix)."""
        scope = ctx.session.collection
        caps = sorted(c.value for c in scope.backend.capabilities)
        overview = await scope.overview(recent=self.limits.recent_videos)
        past, _dropped = trim_history(history, self.limits.history_tokens)
        return [system_message(scope.backend_name, caps), collection_message(overview, self.limits.recent_videos),
                *past, ContextMessage.user(self._user_text(input_message))]

    @staticmethod
    def _user_text(message: InputMessage) -> str:
        text = message.text.strip()
        if message.attachments:
            names = ", ".join(f"#{i + 1} {a.name}" for i, a in enumerate(message.attachments))
            text += f"\n[Attached files: {names}. Use the upload tool with attachment=<number> for videos.]"
        return text

    # the turn --------------------------------------------------------------------------------

    async def run(self, ctx: AgentContext, input_message: InputMessage,
                  history: list[list[ContextMessage]]) -> TurnOutcome:
        """Run one turn. Never raises but for cancellation; the context is always valid."""
        added: list[ContextMessage] = [ContextMessage.user(self._user_text(input_message))]
        try:
            messages = await self.first_messages(ctx, input_message, history)
            added = [messages[-1]]
            tools = self.tool_specs(ctx.session.collection.backend.capabilities)
            return await self._loop(ctx, _Turn(messages, added, tools))
        except Exception as exc:  # a bug must not leave a half step in the thread's history
            log.exception("turn failed inside the reasoning engine")
            ctx.output.add_card(TextCard(agent_name="director", status=CardStatus.error,
                                         status_message="Something went wrong on my side; the error is in the bot's log."))
            return TurnOutcome(MsgStatus.error, failed_turn(added, "an internal error"), type(exc).__name__)

    async def _loop(self, ctx: AgentContext, turn: _Turn) -> TurnOutcome:
        ctx.output.status = MsgStatus.progress
        ctx.output.push_update()
        for _ in range(self.limits.max_iterations):
            response, live = await self._ask(ctx, turn.messages, turn.tools)
            if response is None:
                return self._failed(turn)
            if response.tool_calls:
                fresh = [call for call in response.tool_calls if _call_key(call) not in turn.seen]
                if not fresh:
                    names = ", ".join(sorted({call.name for call in response.tool_calls}))
                    log.info("the model repeated %s; answering from what it has", names)
                    return await self._final(ctx, turn, REPEAT_NOTE.format(calls=names))
                await self._step(ctx, turn, response)
                continue
            if not response.content and response.rejected_calls and not turn.nudged:
                turn.nudged = True
                log.info("unusable text tool call(s): %s", "; ".join(response.rejected_calls))
                turn.messages += [ContextMessage.assistant("(an unusable tool call)"),
                                  ContextMessage.user(NUDGE.format(reasons="; ".join(response.rejected_calls)))]
                continue
            return self._answer(ctx, turn, response, live, NO_ANSWER)
        return await self._final(ctx, turn, CAP_NOTE)

    async def _final(self, ctx: AgentContext, turn: _Turn, note: str) -> TurnOutcome:
        """One last call with no tools on offer: the answer from what the turn has."""
        turn.messages.append(ContextMessage.system(note))
        response, live = await self._ask(ctx, turn.messages, None)
        if response is None:
            return self._failed(turn)
        return self._answer(ctx, turn, response, live, STOPPED)

    def _answer(self, ctx: AgentContext, turn: _Turn, response: LLMResponse, live: TextCard | None,
                fallback: str) -> TurnOutcome:
        text = (response.content or "").strip()
        if not text and response.rejected_calls:
            text = fallback  # never the raw text of a call that could not be used
        if live is not None:
            live.text = text
        elif text:
            ctx.output.add_card(TextCard(agent_name="director", text=text))
        ctx.output.push_update()
        turn.added.append(ContextMessage.assistant(text or None))
        return TurnOutcome(self._status(ctx, turn.ledger), valid_turn(turn.added))

    @staticmethod
    def _failed(turn: _Turn) -> TurnOutcome:
        return TurnOutcome(MsgStatus.error, failed_turn(turn.added, "the language model failed"),
                           "the language model failed")

    # model calls --------------------------------------------------------------------------

    async def _ask(self, ctx: AgentContext, messages: list[ContextMessage],
                   tools: list[ToolSpec] | None) -> tuple[LLMResponse | None, TextCard | None]:
        """The model's next response (streamed into a card when it can), or None if it failed."""
        live = _LiveText(ctx) if self.llm.can_stream else None
        try:
            if live is not None:
                response = await self.llm.chat_stream(messages, tools, live.feed)
            else:
                response = await self.llm.chat(messages, tools)
        except DirectorError as exc:
            if live is not None:
                live.discard()
            log.warning("llm call failed: %s", exc.user_message)
            ctx.output.add_card(TextCard(agent_name="director", status=CardStatus.error,
                                         status_message=exc.user_message))
            return None, None
        except BaseException:
            if live is not None:
                live.discard()
            raise
        if live is not None and (response.tool_calls or not (response.content or "").strip()):
            live.discard()
        return response, live.card if live is not None else None

    # tool steps ---------------------------------------------------------------------------

    async def _step(self, ctx: AgentContext, turn: _Turn, response: LLMResponse) -> None:
        """Run one step's calls (repeats are answered, not run) and record it."""
        step = ContextMessage.assistant(response.content, response.tool_calls)
        turn.messages.append(step)
        turn.added.append(step)
        repeats: set[str] = set()
        fresh: list[ToolCall] = []
        for call in response.tool_calls:
            key = _call_key(call)
            if key in turn.seen:
                repeats.add(call.id)
            else:
                turn.seen.add(key)
                fresh.append(call)
        for call in fresh:
            ctx.output.add_action(f"Running @{call.name}")
            ctx.output.emit(ToolCallStarted(call.id, call.name, call.arguments))
        ctx.output.push_update()
        ran = dict(zip((c.id for c in fresh),
                       await asyncio.gather(*(self._call_one(ctx, call, turn) for call in fresh))))
        for call in response.tool_calls:
            text = (json.dumps({"status": "skipped", "message": "Same call as an earlier one; use its result."})
                    if call.id in repeats else self._tool_text(ran[call.id]))
            result = ContextMessage.tool(call, clip_tool_output(text, self.limits.tool_output_chars))
            turn.messages.append(result)
            turn.added.append(result)

    @staticmethod
    def _tool_text(result: AgentResponse) -> str:
        payload = {"status": result.status.value, "message": result.message}
        if result.data:
            payload["data"] = result.data
        return json.dumps(payload, default=str, ensure_ascii=False)

    async def _call_one(self, ctx: AgentContext, call: ToolCall, turn: _Turn) -> AgentResponse:
        before = {card.id for card in ctx.output.content}
        ledger = turn.ledger
        agent = self.agents.get(call.name)
        if agent is None:
            known = ", ".join(sorted(tool.name for tool in turn.tools))
            result = AgentResponse.error(f"Unknown tool {call.name!r}. Available tools: {known}.")
        else:  # an agent not offered here still runs: it says which backend it needs
            log.info("tool call", extra={"tool": call.name, "session": ctx.session.id})
            result = await agent.safe_call(ctx, call.arguments)
        if result.succeeded:
            self._resolve_errors(ctx, call.name, ledger)
            ledger.succeeded = True
        else:
            self._record_error(ctx, call.name, result.message, before, ledger)
        ctx.output.emit(ToolCallFinished(call.id, call.name, result.succeeded, result.message))
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


def _call_key(call: ToolCall) -> str:
    """A call's identity: its tool and its arguments, however the model spaced them."""
    try:
        arguments = json.dumps(json.loads(call.arguments or "{}"), sort_keys=True)
    except json.JSONDecodeError:
        arguments = call.arguments
    return f"{call.name}:{arguments}"
