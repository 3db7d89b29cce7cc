"""The offline command router: a small grammar that runs every agent with no LLM.

It implements `BaseLLM`, so the reasoning engine runs the same loop either way: the
first call turns a command into tool calls, the call after the tool results ends the
turn (the agents' cards already show the results). A line it can't run is refused
with `NotUnderstood`, which the engine shows as a failed request (never "Done").
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

from core.errors import InputError
from core.llm.base import BaseLLM, LLMResponse, ToolSpec
from core.messages import ContextMessage, ToolCall

GRAMMAR = """\
Commands (no LLM configured, so I understand these exact forms):
  help                              this list
  videos                            the videos of this channel
  find <words>                      videos whose title has these words
  upload <url> [as <name>]          upload a video by link (or attach a file and say `upload`;
                                    in the console, `upload <path> [as <name>]`)
  index <video>                     index a video's spoken words
  search <words>                    find where these words are said, with a compiled stream of the hits
  transcript <video> [page <n>]     a video's transcript
  summarize <video>                 a summary of a video
  clip <video> <start>-<end>        a clip, e.g. `clip keynote 1:05-1:40` or `clip keynote 65-100`
  clip hit <n>                      a clip of search hit n of the last search
  compile <words>                   one stream of every place these words are said
  compile hits <n>,<n>,...          one stream of the listed hits of the last search
  frame <video> <time>              a still image at that time
  stream <video>                    a link that plays the whole video
On VideoDB also: scenes <video> | visual <words> | subtitles <video> | dub <video> <language>
  | image <prompt> | voice <text> | music <prompt> | generate video <prompt>
<video> is a video's id or (part of) its title."""

NEEDS_LLM = (
    "I can only understand natural language with a language model configured "
    "(set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server). Meanwhile, here is what I understand:\n\n"
)

_TIME = r"(\d+(?::\d{1,2}){0,2}(?:\.\d+)?)"

USAGE = {
    "find": "Find which videos? Give me words from a title, e.g. `find keynote`.",
    "index": "Index which video? e.g. `index keynote`.",
    "search": "Search for what? Give me the words to look for, e.g. `search pricing`.",
    "transcript": "The transcript of which video? e.g. `transcript keynote`.",
    "summarize": "Summarize which video? e.g. `summarize keynote`.",
    "clip": "Clip needs a video and a range, e.g. `clip keynote 1:05-1:40` (or `clip hit 2`).",
    "compile": "Compile what? e.g. `compile pricing` or `compile hits 1,3`.",
    "frame": "A frame needs a video and a time, e.g. `frame keynote 1:05`.",
    "stream": "Stream which video? e.g. `stream keynote`.",
    "upload": "Upload takes an http(s) link to a video file, e.g. `upload https://example.com/talk.mp4` "
              "(or attach a file and say `upload`).",
    "dub": "Dub needs a video and a language code, e.g. `dub keynote es`.",
}
_ALIASES = {"summarise": "summarize", "summary": "summarize", "play": "stream", "watch": "stream"}


class NotUnderstood(InputError):
    """A line the grammar can't run; the message says what it needs."""


@dataclass(frozen=True)
class Refusal:
    """`route`'s answer to a line it can't run: what to tell the person."""

    text: str


def parse_time(text: str) -> float:
    """`90`, `1:30`, `0:01:30` or `1.5` → seconds."""
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _call(tool: str, **arguments: object) -> ToolCall:
    args = {key: value for key, value in arguments.items() if value is not None}
    return ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", name=tool, arguments=json.dumps(args))


def _hits(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


ATTACHMENT_NOTE = "\n[Attached files:"


def route(text: str) -> list[ToolCall] | str | Refusal:
    """A command line → tool calls, the help text, or a refusal saying what is missing.

    A message that carries attachments and is not another command uploads them.
    """
    text, note, _ = text.partition(ATTACHMENT_NOTE)
    routed = _route_line(" ".join(text.strip().split()))
    if note and isinstance(routed, Refusal):
        return [_call("upload")]
    return routed


def _route_line(line: str) -> list[ToolCall] | str | Refusal:
    lower = line.lower()
    verb, _, rest = line.partition(" ")
    verb = verb.lower()
    rest = rest.strip()

    if lower in {"help", "?", "commands"}:
        return GRAMMAR
    if lower in {"videos", "list", "list videos", "ls"}:
        return [_call("videos")]
    if verb == "find" and rest:
        return [_call("find_videos", query=rest)]
    if verb == "upload":
        match = re.match(r"^(\S+)(?:\s+as\s+(.+))?$", rest)
        if not rest:
            return [_call("upload")]
        named = re.match(r"^as\s+(.+)$", rest, re.I)
        if named:  # the console's `upload <path> as <name>` arrives as this, with the file attached
            return [_call("upload", name=named.group(1))]
        if match and re.match(r"^https?://", match.group(1), re.I):
            return [_call("upload", url=match.group(1), name=match.group(2))]
        return Refusal(USAGE["upload"])
    if verb == "index" and rest:
        return [_call("index", video=rest)]
    if verb == "search" and rest:
        return [_call("search", query=rest)]
    if verb == "transcript" and rest:
        match = re.match(r"^(.+?)\s+page\s+(\d+)$", rest, re.I)
        if match:
            return [_call("transcript", video=match.group(1), page=int(match.group(2)))]
        return [_call("transcript", video=rest)]
    if verb in {"summarize", "summarise", "summary"} and rest:
        return [_call("summarize", video=rest)]
    if verb == "clip" and rest:
        hit = re.match(r"^hit\s+(\d+)$", rest, re.I)
        if hit:
            return [_call("clip", hit=int(hit.group(1)))]
        match = re.match(rf"^(.+?)\s+{_TIME}\s*(?:-|to|–)\s*{_TIME}$", rest, re.I)
        if match:
            return [_call("clip", video=match.group(1), start=parse_time(match.group(2)),
                          end=parse_time(match.group(3)))]
        return Refusal(USAGE["clip"])
    if verb == "compile" and rest:
        hits = re.match(r"^hits?\s+([\d,\s]+)$", rest, re.I)
        if hits:
            return [_call("compile", hits=_hits(hits.group(1)))]
        return [_call("compile", query=rest)]
    if verb == "frame" and rest:
        match = re.match(rf"^(.+?)\s+(?:at\s+)?{_TIME}$", rest, re.I)
        if match:
            return [_call("frame", video=match.group(1), at=parse_time(match.group(2)))]
    if verb in {"stream", "play", "watch"} and rest:
        return [_call("stream_video", video=rest)]
    if verb == "scenes" and rest:
        return [_call("scene_index", video=rest)]
    if verb == "visual" and rest:
        return [_call("visual_search", query=rest)]
    if verb == "subtitles" and rest:
        return [_call("subtitles", video=rest)]
    if verb == "dub" and rest:
        match = re.match(r"^(.+)\s+(\S+)$", rest)
        if match:
            return [_call("dub", video=match.group(1), language_code=match.group(2))]
    if verb == "image" and rest:
        return [_call("generate_image", prompt=rest)]
    if verb == "voice" and rest:
        return [_call("generate_voice", text=rest)]
    if verb == "music" and rest:
        return [_call("generate_music", prompt=rest)]
    if lower.startswith("generate video ") and len(line) > 15:
        return [_call("generate_video", prompt=line[15:])]
    usage = USAGE.get(_ALIASES.get(verb, verb))
    if usage is not None and (not rest or verb in {"frame", "dub"}):
        return Refusal(usage)
    return Refusal(NEEDS_LLM + GRAMMAR)


class OfflineRouter(BaseLLM):
    """Routes the grammar above to agents; no language model involved."""

    name = "offline"
    can_generate = False

    async def chat(self, messages: list[ContextMessage], tools: list[ToolSpec] | None = None) -> LLMResponse:
        last = messages[-1] if messages else None
        if last is None or last.role != "user":
            # Tool results are in: the agents' cards already show them; end the turn.
            return LLMResponse(content=None, finish_reason="stop")
        routed = route(last.content or "")
        if isinstance(routed, Refusal):
            raise NotUnderstood(routed.text)
        if isinstance(routed, str):
            return LLMResponse(content=routed, finish_reason="stop")
        known = {tool.name for tool in tools or []}
        missing = [call.name for call in routed if known and call.name not in known]
        if missing:
            return LLMResponse(content=f"That command needs the {missing[0]} tool, which isn't available here.")
        return LLMResponse(tool_calls=routed, finish_reason="tool_calls")
