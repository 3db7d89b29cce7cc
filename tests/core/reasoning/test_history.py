"""What a turn leaves in the history is always a conversation a server accepts."""

from __future__ import annotations

import json

from core.messages import ContextMessage, ToolCall
from core.reasoning.history import failed_turn, valid_turn
from core.reasoning.prompt import trim_history

A = ToolCall(id="a", name="search", arguments='{"query": "x"}')
B = ToolCall(id="b", name="videos", arguments="{}")


def result(call: ToolCall, message: str = "ok") -> ContextMessage:
    return ContextMessage.tool(call, json.dumps({"status": "success", "message": message}))


def test_a_complete_turn_is_kept_as_it_is() -> None:
    turn = [ContextMessage.user("go"), ContextMessage.assistant(None, [A, B]), result(A), result(B),
            ContextMessage.assistant("done")]
    assert valid_turn(turn) == turn


def test_a_call_without_its_result_is_dropped_and_orphan_results_too() -> None:
    turn = [ContextMessage.user("go"), result(B), ContextMessage.assistant("thinking", [A, B]), result(A),
            ContextMessage.assistant(None, [B])]
    assert valid_turn(turn) == [
        ContextMessage.user("go"),
        ContextMessage.assistant("thinking", [A]),
        result(A),
    ]


def test_a_step_left_with_no_answered_call_keeps_only_its_text() -> None:
    turn = [ContextMessage.user("go"), ContextMessage.assistant("let me look", [A])]
    assert valid_turn(turn) == [ContextMessage.user("go"), ContextMessage.assistant("let me look")]


def test_a_failed_turn_leaves_the_request_and_a_plain_note() -> None:
    added = [ContextMessage.user("upload talk.mp4 and search revenue"), ContextMessage.assistant(None, [A, B]),
             result(A, "Found 2 hit(s) for 'x'."), result(B, "2 videos " + "word " * 100)]

    context = failed_turn(added, "the language model failed.")

    assert [m.role for m in context] == ["user", "assistant"]
    assert not any(m.tool_calls for m in context)
    note = context[1].content or ""
    assert note.startswith("(This request failed: the language model failed.)")
    assert "- search: Found 2 hit(s) for 'x'." in note and len(note) < 600


def test_stored_turns_are_repaired_when_the_prompt_is_built() -> None:
    broken = [ContextMessage.user("old"), ContextMessage.assistant(None, [A])]  # a row from an older version
    messages, dropped = trim_history([broken, [ContextMessage.user("new"), ContextMessage.assistant("ok")]], 6000)
    assert dropped == 0
    assert [(m.role, bool(m.tool_calls)) for m in messages] == [
        ("user", False), ("assistant", False), ("user", False), ("assistant", False)]
