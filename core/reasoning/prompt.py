"""Building a bounded prompt whose prefix stays the same from turn to turn.

Servers with prompt caching (llama.cpp, vLLM, OpenAI) reuse the longest prefix a
new prompt shares with the last one, and chat templates render the tool list right
after the first system message. So the prompt is laid out most-stable first:

    system text (fixed per deployment) → [tools] → collection overview → history → request

An upload changes only the overview, so the system text and the tool list (most of
the prompt) stay cached; turns in between uploads share everything up to the new
request. The overview is its own message, never stored in the history.

The overview lists at most `recent` videos and the total count (a `find_videos`
tool looks up the rest), so the prompt does not grow with the collection. Older
turns are dropped whole, oldest first, to fit a token budget; tool outputs are cut
to a size and point at the tool that pages them.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.messages import ContextMessage
from core.reasoning.history import valid_turn
from core.video.backend import CollectionOverview

SYSTEM_PROMPT = """You are Director, a video agent working inside a team chat thread.
You act on the videos of THIS channel's collection only, through the tools you are given.
Plan the work, call tools (independent calls may be made in parallel), then answer briefly.
Links, search hits and videos are shown to the person automatically from tool results:
do not repeat long URLs; refer to results by number ("hit 2") and title instead.
Times are in seconds. If a tool fails, explain plainly what went wrong and what to try.
Video backend: {backend}. Capabilities: {capabilities}."""


def describe_collection(overview: CollectionOverview, recent: int) -> str:
    if overview.total == 0:
        return "The channel's collection is empty: ask for a video to be uploaded first."
    lines = [f"The channel's collection has {overview.total} video(s)."]
    shown = overview.recent[:recent]
    if shown:
        label = "Most recent" if overview.total > len(shown) else "Videos"
        lines.append(f"{label} (id | title | length):")
        for video in shown:
            length = f"{video.length:.0f}s" if video.length is not None else "?"
            indexed = "" if video.indexed else " | not indexed yet"
            lines.append(f"- {video.id} | {' '.join(video.name.split())[:80]} | {length}{indexed}")
    if overview.total > len(shown):
        lines.append(f"({overview.total - len(shown)} more: use find_videos to look titles up.)")
    return "\n".join(lines)


def system_message(backend: str, capabilities: Sequence[str]) -> ContextMessage:
    return ContextMessage.system(SYSTEM_PROMPT.format(backend=backend, capabilities=", ".join(capabilities) or "none"))


def collection_message(overview: CollectionOverview, recent: int = 20) -> ContextMessage:
    return ContextMessage.system(describe_collection(overview, recent))


def trim_history(turns: list[list[ContextMessage]], budget_tokens: int) -> tuple[list[ContextMessage], int]:
    """Keep the newest whole turns that fit the budget; return (messages, turns dropped).

    Whole turns keep each assistant tool call next to its tool results, which
    OpenAI-compatible servers require (`valid_turn` repairs any that do not).
    """
    kept: list[list[ContextMessage]] = []
    used = 0
    for stored in reversed(turns):
        turn = valid_turn(stored)
        cost = sum(message.approx_tokens() for message in turn)
        if used + cost > budget_tokens:
            break
        kept.append(turn)
        used += cost
    dropped = len(turns) - len(kept)
    messages = [message for turn in reversed(kept) for message in turn]
    if dropped:
        note = ContextMessage.system(
            f"({dropped} earlier turn(s) of this thread are omitted to keep the prompt short.)"
        )
        messages.insert(0, note)
    return messages, dropped


def clip_tool_output(text: str, limit: int) -> str:
    """Large outputs (transcripts) go in by reference: a head, then where to read more."""
    if len(text) <= limit:
        return text
    return (
        text[:limit]
        + f"\n[…{len(text) - limit} more characters not shown. Ask the tool for a narrower range "
        "or a later page to read more.]"
    )
