"""What a turn leaves in the thread's history: always a conversation any server accepts.

A stored turn is replayed to the model on every later turn of the thread, so one
bad turn must never poison the thread:
- `valid_turn` keeps every tool call next to its result, in order, drops a call
  with no result or a result with no call (a turn cut short, an old row), and
  never ends a turn on the request itself;
- `failed_turn` is what a turn whose model call failed leaves: the request and a
  plain-text note of what was done, with no tool steps at all. A successful turn's
  steps were accepted by the server in the turn's own last call; a failed turn's
  were not, and may be exactly what the server refused.
"""

from __future__ import annotations

import json

from core.messages import ContextMessage

_RESULT_CHARS = 200


def valid_turn(messages: list[ContextMessage]) -> list[ContextMessage]:
    """`messages` with every tool call answered, in order; orphans dropped."""
    out: list[ContextMessage] = []
    index = 0
    while index < len(messages):
        message = messages[index]
        index += 1
        if message.role == "tool":
            continue  # a result whose call was not just before it
        if message.role != "assistant" or not message.tool_calls:
            out.append(message)
            continue
        results: dict[str, ContextMessage] = {}
        while index < len(messages) and messages[index].role == "tool":
            result = messages[index]
            if result.tool_call_id and result.tool_call_id not in results:
                results[result.tool_call_id] = result
            index += 1
        answered = [call for call in message.tool_calls if call.id in results]
        if answered:
            out.append(message.model_copy(update={"tool_calls": answered}))
            out.extend(results[call.id] for call in answered)
        elif message.content:
            out.append(ContextMessage.assistant(message.content))
    if out and out[-1].role == "user":  # many templates need turns to alternate
        out.append(ContextMessage.assistant("(No answer was given.)"))
    return out


def failed_turn(added: list[ContextMessage], reason: str) -> list[ContextMessage]:
    """The request, then one assistant note: why it failed and what was done first."""
    request = next((m for m in added if m.role == "user"), None)
    done = [f"- {m.name or 'tool'}: {_result_line(m.content or '')}" for m in added if m.role == "tool"]
    note = f"(This request failed: {reason.rstrip('.')}.)"
    if done:
        note += "\nDone before it failed:\n" + "\n".join(done)
    return ([request] if request is not None else []) + [ContextMessage.assistant(note)]


def _result_line(content: str) -> str:
    try:
        payload = json.loads(content)
    except json.JSONDecodeError:
        payload = None
    text = payload.get("message", content) if isinstance(payload, dict) else content
    text = " ".join(str(text).split())
    return text if len(text) <= _RESULT_CHARS else text[: _RESULT_CHARS - 1] + "…"
