"""The offline command grammar: commands become tool calls, anything else gets help."""

from __future__ import annotations

import json

import pytest

from core.llm.offline_router import GRAMMAR, NEEDS_LLM, NotUnderstood, OfflineRouter, Refusal, parse_time, route
from core.messages import ContextMessage


def _calls(text: str) -> list[tuple[str, dict[str, object]]]:
    routed = route(text)
    assert isinstance(routed, list), routed
    return [(call.name, json.loads(call.arguments)) for call in routed]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("videos", [("videos", {})]),
        ("find keynote", [("find_videos", {"query": "keynote"})]),
        ("upload https://example.com/talk.mp4", [("upload", {"url": "https://example.com/talk.mp4"})]),
        ("upload https://e.com/a.mp4 as Keynote 2026", [("upload", {"url": "https://e.com/a.mp4", "name": "Keynote 2026"})]),
        ("upload", [("upload", {})]),
        ("upload as Board meeting", [("upload", {"name": "Board meeting"})]),
        ("search pricing plans", [("search", {"query": "pricing plans"})]),
        ("transcript my talk", [("transcript", {"video": "my talk"})]),
        ("transcript my talk page 2", [("transcript", {"video": "my talk", "page": 2})]),
        ("summarize standup", [("summarize", {"video": "standup"})]),
        ("clip the keynote 1:05-1:40", [("clip", {"video": "the keynote", "start": 65.0, "end": 100.0})]),
        ("clip demo 5 to 9.5", [("clip", {"video": "demo", "start": 5.0, "end": 9.5})]),
        ("clip hit 2", [("clip", {"hit": 2})]),
        ("compile pricing", [("compile", {"query": "pricing"})]),
        ("compile hits 1, 3", [("compile", {"hits": [1, 3]})]),
        ("frame demo at 0:07", [("frame", {"video": "demo", "at": 7.0})]),
        ("stream demo", [("stream_video", {"video": "demo"})]),
        ("dub demo es", [("dub", {"video": "demo", "language_code": "es"})]),
        ("generate video a cat on a skateboard", [("generate_video", {"prompt": "a cat on a skateboard"})]),
    ],
)
def test_commands_become_tool_calls(text: str, expected: list[tuple[str, dict[str, object]]]) -> None:
    assert _calls(text) == expected


def test_help_lists_the_grammar_and_unknown_sentences_say_an_llm_is_needed() -> None:
    assert route("help") == GRAMMAR
    answer = route("make me a highlight reel of the demo")
    assert isinstance(answer, Refusal) and answer.text.startswith(NEEDS_LLM) and "search <words>" in answer.text


def test_non_http_upload_is_refused_shortly() -> None:
    answer = route("upload /etc/passwd")
    assert isinstance(answer, Refusal) and "http(s) link" in answer.text and GRAMMAR not in answer.text


@pytest.mark.parametrize(("line", "expected"), [
    ("search", "Search for what? Give me the words to look for, e.g. `search pricing`."),
    ("search   ", "Search for what?"),
    ("clip", "Clip needs a video and a range"),
    ("clip keynote", "Clip needs a video and a range"),
    ("frame keynote", "A frame needs a video and a time"),
    ("transcript", "The transcript of which video?"),
    ("summarise", "Summarize which video?"),
    ("find", "Find which videos?"),
])
def test_a_command_missing_its_words_asks_for_them(line: str, expected: str) -> None:
    answer = route(line)
    assert isinstance(answer, Refusal) and answer.text.startswith(expected)
    assert NEEDS_LLM not in answer.text


async def test_the_router_refuses_with_an_error_never_a_done_answer() -> None:
    with pytest.raises(NotUnderstood) as caught:
        await OfflineRouter().chat([ContextMessage.user("search")])
    assert caught.value.user_message.startswith("Search for what?")
    help_text = await OfflineRouter().chat([ContextMessage.user("help")])
    assert help_text.content == GRAMMAR


def test_a_message_with_attachments_uploads_them() -> None:
    assert _calls("here is the keynote\n[Attached files: #1 keynote.mp4.]") == [("upload", {})]
    assert route("help\n[Attached files: #1 a.mp4.]") == GRAMMAR


def test_parse_time() -> None:
    assert parse_time("90") == 90 and parse_time("1:30") == 90 and parse_time("1:00:05") == 3605


async def test_router_ends_the_turn_after_tool_results() -> None:
    router = OfflineRouter()
    first = await router.chat([ContextMessage.system("s"), ContextMessage.user("videos")])
    assert [c.name for c in first.tool_calls] == ["videos"]
    call = first.tool_calls[0]
    second = await router.chat([ContextMessage.user("videos"), ContextMessage.assistant(None, [call]),
                                ContextMessage.tool(call, "{}")])
    assert second.tool_calls == [] and second.content is None
