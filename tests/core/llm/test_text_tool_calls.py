"""Tool calls written as text: each shape small models produce, what is refused, and the
streaming gate that keeps raw call text from a person."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from core.llm.base import ToolSpec
from core.llm.text_tool_calls import ProseGate, parse_text_calls


class SearchParams(BaseModel):
    query: str = Field(min_length=1)
    limit: int = 5


class NoParams(BaseModel):
    pass


TOOLS = [ToolSpec.from_model("search", "Search speech.", SearchParams), ToolSpec.from_model("videos", "List.", NoParams)]
CALL = {"name": "search", "arguments": {"query": "revenue"}}


@pytest.mark.parametrize(
    "text",
    [
        f"```json\n{json.dumps(CALL)}\n```",
        f"```\n{json.dumps(CALL)}\n```",
        json.dumps(CALL),
        "{" + json.dumps(CALL) + "}",  # {{ … }}: one extra pair of braces
        json.dumps(CALL).replace("{", "{{").replace("}", "}}"),  # every brace doubled, as in a format string
        f"<tool_call>\n{json.dumps(CALL)}\n</tool_call>",
        f"<tool_call>{json.dumps(CALL)}",  # the stop token ate the closing tag
        '<tools><function=search>{"query": "revenue"}</function></tools>',
        '<function name="search">{"query": "revenue"}</function>',
        f"<function>{json.dumps(CALL)}</function>",
        json.dumps({"name": "search", "parameters": {"query": "revenue"}}),
        json.dumps({"name": "search", "arguments": json.dumps({"query": "revenue"})}),  # arguments as a string
        json.dumps({"function": {"name": "search", "arguments": '{"query": "revenue"}'}}),
        json.dumps({"tool_calls": [{"type": "function", "function": CALL}]}),
        json.dumps([CALL]),
        json.dumps({"tool": "search", "query": "revenue"}),  # flat arguments
    ],
    ids=["fenced-json", "fenced", "bare", "double-braced", "all-doubled", "tool_call-tag", "unclosed-tag",
         "llama-function", "function-name-attr", "function-tag", "parameters-key", "string-arguments",
         "openai-shape", "tool_calls-list", "list", "flat"],
)
def test_each_shape_becomes_one_call(text: str) -> None:
    found = parse_text_calls(text, TOOLS)

    assert [(c.name, json.loads(c.arguments)) for c in found.calls] == [("search", {"query": "revenue"})]
    assert found.prose == "" and not found.rejected and found.calls[0].id.startswith("call_")


def test_prose_around_a_call_is_kept_without_the_call() -> None:
    found = parse_text_calls(f"Sure, let me look.\n```json\n{json.dumps(CALL)}\n```\nOne moment.", TOOLS)

    assert [c.name for c in found.calls] == ["search"]
    assert found.prose == "Sure, let me look.\n\nOne moment."


def test_several_calls_in_order() -> None:
    text = f'<tool_call>{{"name": "videos", "arguments": {{}}}}</tool_call>\n<tool_call>{json.dumps(CALL)}</tool_call>'
    assert [c.name for c in parse_text_calls(text, TOOLS).calls] == ["videos", "search"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"name": "teleport", "arguments": {}}', "there is no tool 'teleport'"),
        ('{"name": "search", "arguments": {"limit": 3}}', "invalid arguments for search: query"),
        ('{"name": "search", "arguments": {"query": ""}}', "invalid arguments for search: query"),
        ('{"name": "search", "arguments": [1, 2]}', "not a JSON object"),
    ],
)
def test_a_call_that_would_not_validate_is_refused_and_never_left_in_the_prose(text: str, reason: str) -> None:
    found = parse_text_calls(f"```json\n{text}\n```", TOOLS)

    assert found.calls == [] and found.prose == ""
    assert len(found.rejected) == 1 and reason in found.rejected[0]
    assert found.looked_like_calls


@pytest.mark.parametrize(
    "text",
    [
        "Revenue comes up at 0:31 and again at 2:05.",
        'The config is {"a": 1} and that is fine.',
        "```python\nprint('hello')\n```",
        '{"name": "Alice", "age": 3}',  # a name that is no tool, and no arguments key
        "Use {braces} freely.",
    ],
)
def test_text_that_is_no_call_is_the_answer(text: str) -> None:
    found = parse_text_calls(text, TOOLS)

    assert found.calls == [] and not found.rejected and found.prose == text


def test_a_spec_without_a_model_checks_required_keys() -> None:
    spec = ToolSpec(name="search", description="d",
                    parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]})
    assert spec.problem_with({}) == "missing query"
    assert spec.problem_with({"query": "x"}) is None


# streaming -------------------------------------------------------------------------------------


def _stream(text: str, size: int) -> str:
    gate = ProseGate()
    return "".join(gate.feed(text[i:i + size]) for i in range(0, len(text), size))


@pytest.mark.parametrize("size", [1, 2, 3, 7, 100])
@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Revenue grew 40% this year.\nThat is the summary.", "Revenue grew 40% this year.\nThat is the summary."),
        (f"Let me look.\n```json\n{json.dumps(CALL)}\n```", "Let me look."),
        (f"Calling {json.dumps(CALL)}", "Calling"),
        (f"<tool_call>{json.dumps(CALL)}</tool_call>", ""),
        (f"  {json.dumps(CALL)}", ""),
        (f"Hits:\n[{json.dumps(CALL)}]", "Hits:"),
        ("a < b, and 2 > 1.", "a < b, and 2 > 1."),
    ],
)
def test_the_gate_shows_prose_and_holds_anything_that_may_be_a_call(text: str, shown: str, size: int) -> None:
    assert _stream(text, size) == shown
