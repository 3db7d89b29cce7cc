"""Tool calls that a model wrote as text, for servers that return no `tool_calls`.

Small models behind llama.cpp, Ollama or vLLM often write their call in the answer
instead of the API's `tool_calls` field. The shapes seen in practice:

    ```json {"name": "search", "arguments": {"query": "revenue"}} ```
    {"name": "search", "arguments": {...}}          bare, or {{ … }} (a template's escaping)
    <tool_call>{"name": …, "arguments": …}</tool_call>            Hermes / Qwen
    <tools><function=search>{"query": …}</function></tools>      Llama 3.1 style
    <function name="search">{…}</function>
    [{"name": …}, …]  {"tool_calls": [{"function": {"name", "arguments"}}]}

A call is accepted only if its tool is offered and its arguments validate; every
call-shaped block is cut out of the prose either way, so raw tool-call JSON never
reaches a person. `ProseGate` applies the same rule to streamed text.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from core.llm.base import ToolSpec
from core.messages import ToolCall

_NAME_KEYS = ("name", "function", "tool", "tool_name")
_ARG_KEYS = ("arguments", "parameters", "args", "input")

_TAGGED = re.compile(
    r"<tool_call>(?P<call>.*?)(?:</tool_call>|$)"
    r"|<function=(?P<fname>[\w.-]+)>(?P<fargs>.*?)(?:</function>|$)"
    r"|<function\s+name=[\"'](?P<nname>[\w.-]+)[\"']\s*>(?P<nargs>.*?)(?:</function>|$)"
    r"|<function>(?P<plain>.*?)(?:</function>|$)",
    re.DOTALL,
)
_FENCE = re.compile(r"```[\w-]*[ \t]*\n?(?P<body>.*?)(?:```|$)", re.DOTALL)
_WRAPPERS = re.compile(r"</?tools>|</?tool_calls?>|</?function_calls?>")
_DECODER = json.JSONDecoder()


@dataclass
class TextCalls:
    calls: list[ToolCall] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    prose: str = ""

    @property
    def looked_like_calls(self) -> bool:
        return bool(self.calls or self.rejected)


def parse_text_calls(text: str, tools: list[ToolSpec]) -> TextCalls:
    """The calls written in `text`, the reasons others were refused, and the prose left."""
    offered = {tool.name: tool for tool in tools}
    found = TextCalls()
    spans: list[tuple[int, int]] = []
    for match in _TAGGED.finditer(text):
        if match.group("call") is not None or match.group("plain") is not None:
            payloads = _objects(match.group("call") or match.group("plain") or "")
            candidates = [c for payload in payloads for c in _call_dicts(payload, offered)]
        else:
            name = match.group("fname") or match.group("nname")
            args = _objects(match.group("fargs") or match.group("nargs") or "")
            candidates = [(name, args[0] if args else {})]
        _judge(candidates, offered, found)
        spans.append(match.span())
    for match in _FENCE.finditer(text):
        if _inside(match.span(), spans):
            continue
        candidates = [c for payload in _objects(match.group("body")) for c in _call_dicts(payload, offered)]
        if candidates:
            _judge(candidates, offered, found)
            spans.append(match.span())
    for start, end, payload in _bare_objects(text, spans):
        candidates = _call_dicts(payload, offered)
        if candidates:
            _judge(candidates, offered, found)
            spans.append((start, end))
    found.prose = _cut(text, spans)
    return found


def _judge(candidates: list[tuple[str, Any]], offered: dict[str, ToolSpec], found: TextCalls) -> None:
    for name, arguments in candidates:
        if isinstance(arguments, str):
            arguments = _loads(arguments) if arguments.strip() else {}
        if arguments is None or arguments == []:
            arguments = {}
        tool = offered.get(name)
        if tool is None:
            found.rejected.append(f"there is no tool {name!r}")
            continue
        if not isinstance(arguments, dict):
            found.rejected.append(f"the arguments for {name} are not a JSON object")
            continue
        problem = tool.problem_with(arguments)
        if problem:
            found.rejected.append(f"invalid arguments for {name}: {problem}")
            continue
        found.calls.append(ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", name=name,
                                    arguments=json.dumps(arguments, ensure_ascii=False)))


def _call_dicts(payload: Any, offered: dict[str, ToolSpec]) -> list[tuple[str, Any]]:
    """(name, arguments) for each call-shaped object in a decoded payload."""
    if isinstance(payload, list):
        return [c for item in payload for c in _call_dicts(item, offered)]
    if not isinstance(payload, dict):
        return []
    if isinstance(payload.get("tool_calls"), list):
        return _call_dicts(payload["tool_calls"], offered)
    function = payload.get("function")
    if isinstance(function, dict) and isinstance(function.get("name"), str):  # OpenAI's own shape
        return [(function["name"], function.get("arguments", {}))]
    for name_key in _NAME_KEYS:
        name = payload.get(name_key)
        if not isinstance(name, str) or not name:
            continue
        for arg_key in _ARG_KEYS:
            if arg_key in payload:
                return [(name, payload[arg_key])]
        if name in offered:  # {"name": "search", "query": "x"}: flat arguments, only for a real tool
            return [(name, {k: v for k, v in payload.items() if k != name_key})]
    return []


def _objects(text: str) -> list[Any]:
    """Every JSON value in `text` (objects and arrays), tolerating `{{ … }}`."""
    return [payload for _, _, payload in _bare_objects(text, [])]


def _bare_objects(text: str, skip: list[tuple[int, int]]) -> list[tuple[int, int, Any]]:
    found: list[tuple[int, int, Any]] = []
    index = 0
    while index < len(text):
        if text[index] not in "{[" or _inside((index, index + 1), skip):
            index += 1
            continue
        decoded = _decode_at(text, index)
        if decoded is None:
            index += 1
            continue
        end, payload = decoded
        found.append((index, end, payload))
        index = end
    return found


def _decode_at(text: str, index: int) -> tuple[int, Any] | None:
    try:
        payload, end = _DECODER.raw_decode(text, index)
        return end, payload
    except json.JSONDecodeError:
        pass
    if text.startswith("{{", index):  # a template's escaping: one extra pair, or every brace doubled
        try:
            payload, end = _DECODER.raw_decode(text, index + 1)
            rest = text[end:].lstrip()
            if rest.startswith("}"):
                return len(text) - len(rest) + 1, payload
        except json.JSONDecodeError:
            pass
        closing = text.find("}}", index)
        while closing != -1:
            candidate = text[index + 1:closing + 1]
            try:
                return closing + 2, json.loads(candidate.replace("{{", "{").replace("}}", "}"))
            except json.JSONDecodeError:
                closing = text.find("}}", closing + 1)
    return None


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        decoded = _decode_at(text.strip(), 0)
        return decoded[1] if decoded else text


def _inside(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in spans)


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    kept, position = [], 0
    for start, end in sorted(spans):
        if start >= position:
            kept.append(text[position:start])
            position = end
    kept.append(text[position:])
    prose = _WRAPPERS.sub("", "".join(kept))
    return re.sub(r"\n{3,}", "\n\n", prose).strip()


# streaming ----------------------------------------------------------------------------

_MARKERS = ("```", "<tool_call", "<function", "<tools", '{"', "{{", "[{")
_LINE_START = re.compile(r"(?:^|\n)[ \t]*(?=[{\[])")


class ProseGate:
    """Lets streamed text through until it might be a tool call, then holds the rest.

    What was held is decided once the answer is complete (`parse_text_calls`); until
    then a person sees only text that cannot be the start of a call: nothing from the
    first marker (a fence, a tag, `{"`, or `{`/`[` opening a line) on, and never the
    last few characters while they could still grow into a marker (nor trailing
    whitespace, which waits for what follows it).
    """

    def __init__(self) -> None:
        self._text = ""
        self._sent = 0

    def feed(self, delta: str) -> str:
        """Add `delta`; return the part that is safe to show now ('' if none)."""
        self._text += delta
        limit = _safe_length(self._text)
        if limit <= self._sent:
            return ""
        out, self._sent = self._text[self._sent:limit], limit
        return out


def _safe_length(text: str) -> int:
    cut = len(text)
    for marker in _MARKERS:
        found = text.find(marker)
        if found != -1:
            cut = min(cut, found)
    line = _LINE_START.search(text)
    if line is not None:
        cut = min(cut, line.start())
    head = text[:cut]
    for marker in _MARKERS:
        for size in range(len(marker) - 1, 0, -1):
            if head.endswith(marker[:size]):
                head = head[:-size]
                break
    # Trailing whitespace waits for what follows it: a new line may open with `{`.
    return len(head.rstrip())
