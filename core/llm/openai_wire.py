"""Our messages and tools in the shapes chat-completions servers accept, and back.

Written for the strictest server, not only for OpenAI:
- an assistant message with tool calls carries `"content": ""`, never null
  (llama-cpp-python answers 500 to null);
- tool-call arguments are always a JSON object's text (llama-server parses them);
- no field is sent empty (`tools: []`, `tool_calls: []`, `name: null`…).

`json` tool mode is for servers or models without reliable native tool calling: no
`tools` field at all; the tool list goes in the system text, every step is one JSON
object constrained by `response_format` (`{"tool": <name from an enum>, "arguments":
{…}}`), and earlier tool steps are replayed as plain text.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from openai.types.chat import ChatCompletion

from core.errors import LLMError
from core.llm.base import LLMResponse, ToolSpec
from core.llm.text_tool_calls import parse_text_calls
from core.messages import ContextMessage, ToolCall

log = logging.getLogger(__name__)

ANSWER_TOOL = "answer"
"""In json mode, the pseudo-tool whose `text` argument is the reply to the person."""

JSON_MODE_INSTRUCTIONS = """You can use these tools (one JSON object per line):
{catalogue}

Reply with exactly one JSON object and nothing else:
{{"tool": "<tool name>", "arguments": {{...}}}} to call a tool, or
{{"tool": "answer", "arguments": {{"text": "<your reply>"}}}} to answer the person.
Tool results come back to you as messages starting with "Result of"."""


def json_arguments(raw: str) -> str:
    """`raw` if it is a JSON object's text, else "{}" (servers that parse history choke on it)."""
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return "{}"
    return raw if isinstance(value, dict) else "{}"


# native mode ------------------------------------------------------------------------------


def to_openai_message(message: ContextMessage) -> dict[str, Any]:
    """Our ContextMessage → one chat.completions message."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.content or ""}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or "",
            "tool_calls": [
                {"id": call.id, "type": "function",
                 "function": {"name": call.name, "arguments": json_arguments(call.arguments)}}
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content or ""}


def to_openai_tool(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def to_llm_response(completion: ChatCompletion, tools: list[ToolSpec] | None, *,
                    text_calls: bool = True) -> LLMResponse:
    """The first choice → LLMResponse. Native tool arguments stay raw (the engine
    validates them); with no native calls, calls written as text are looked for
    (and cut out of the answer even when no tools were offered)."""
    if not completion.choices:
        raise LLMError("The language model returned no answer.")
    choice = completion.choices[0]
    calls: list[ToolCall] = []
    for index, call in enumerate(choice.message.tool_calls or []):
        if call.type != "function":
            log.warning("ignoring a %s tool call; only function tools are offered", call.type)
            continue
        call_id = getattr(call, "id", None) or f"call_{index}_{uuid.uuid4().hex[:8]}"  # some servers omit ids
        calls.append(ToolCall(id=call_id, name=call.function.name, arguments=call.function.arguments or "{}"))
    usage = completion.usage
    response = LLMResponse(
        content=choice.message.content,
        tool_calls=calls,
        finish_reason=choice.finish_reason,
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
    )
    if text_calls and not calls and response.content:
        parsed = parse_text_calls(response.content, tools or [])
        if parsed.looked_like_calls:
            response.content = parsed.prose or None
            response.tool_calls = parsed.calls
            response.rejected_calls = parsed.rejected
            response.calls_from_text = bool(parsed.calls)
    return response


# json mode --------------------------------------------------------------------------------


def json_mode_messages(messages: list[ContextMessage], tools: list[ToolSpec]) -> list[dict[str, Any]]:
    """The conversation for a server that is never sent `tools`: calls and results as text."""
    catalogue = "\n".join(
        json.dumps({"name": t.name, "description": t.description, "parameters": t.parameters}, ensure_ascii=False)
        for t in tools
    )
    instructions = JSON_MODE_INSTRUCTIONS.format(catalogue=catalogue)
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if message.role == "system" and index == 0:
            out.append({"role": "system", "content": f"{message.content or ''}\n\n{instructions}"})
        elif message.role == "system":
            _append(out, "user", f"[Note: {message.content or ''}]")
        elif message.role == "tool":
            _append(out, "user", f"Result of {message.name or 'the tool'}: {message.content or ''}")
        elif message.role == "assistant" and message.tool_calls:
            lines = [json.dumps({"tool": c.name, "arguments": json.loads(json_arguments(c.arguments))},
                                ensure_ascii=False) for c in message.tool_calls]
            _append(out, "assistant", "\n".join(lines))
        elif message.role == "assistant":
            _append(out, "assistant", json.dumps({"tool": ANSWER_TOOL, "arguments": {"text": message.content or ""}},
                                                 ensure_ascii=False))
        else:
            _append(out, message.role, message.content or "")
    if not out or out[0]["role"] != "system":
        out.insert(0, {"role": "system", "content": instructions})
    return out


def _append(out: list[dict[str, Any]], role: str, content: str) -> None:
    """Consecutive messages of one role are merged: many templates require alternation."""
    if out and out[-1]["role"] == role and role != "system":
        out[-1]["content"] += "\n\n" + content
    else:
        out.append({"role": role, "content": content})


def json_mode_format(tools: list[ToolSpec]) -> dict[str, Any]:
    """`response_format` asking for one step object: a tool name from the enum, then its arguments."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "step",
            "schema": {
                "type": "object",
                "properties": {
                    "tool": {"type": "string", "enum": [t.name for t in tools] + [ANSWER_TOOL]},
                    "arguments": {"type": "object"},
                },
                "required": ["tool", "arguments"],
            },
        },
    }


def from_json_step(response: LLMResponse, tools: list[ToolSpec]) -> LLMResponse:
    """A json-mode answer → a tool call or the answer's text (never the raw JSON)."""
    text = (response.content or "").strip()
    try:
        step = json.loads(text)
    except json.JSONDecodeError:
        step = None
    if isinstance(step, dict) and step.get("tool") == ANSWER_TOOL:
        arguments = step.get("arguments")
        answer = arguments.get("text") if isinstance(arguments, dict) else None
        response.content = answer if isinstance(answer, str) else ""
        response.tool_calls = []
        return response
    if isinstance(step, dict) and isinstance(step.get("tool"), str):
        text = json.dumps({"name": step["tool"], "arguments": step.get("arguments", {})})
    parsed = parse_text_calls(text, tools)
    response.tool_calls = parsed.calls[:1]  # one step at a time
    response.rejected_calls = parsed.rejected
    response.content = parsed.prose or None
    return response
