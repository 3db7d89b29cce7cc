"""Showing search hits: a results card, the hits remembered, and one stream of them all.

Shared by `search`, `visual_search` and `compile`, so "hit 2" means the same thing
in the card, in the model's text and in session memory.
"""

from __future__ import annotations

import logging

from core.agents.base import AgentContext
from core.agents.hits import Hit, playable_range, remember_hits
from core.agents.present import fmt_span, links_line, stream_data
from core.agents.progress import Progress
from core.errors import DirectorError
from core.messages import SearchResultsCard, SearchResultVideo, ShotData, VideoCard, VideoData
from core.video.backend import Shot, ShotRef, VideoInfo

log = logging.getLogger(__name__)

_QUOTE_CHARS = 140


def group_by_video(shots: list[Shot]) -> list[Shot]:
    """Best video first, each video's shots together: the order the card shows."""
    order: dict[str, list[Shot]] = {}
    for shot in shots:
        order.setdefault(shot.video_id, []).append(shot)
    return [shot for group in order.values() for shot in group]


async def show_hits(ctx: AgentContext, agent_name: str, query: str, shots: list[Shot]) -> tuple[str, dict]:
    """Add the results card and compiled stream; return the model's summary and data."""
    scope = ctx.session.collection
    videos: dict[str, VideoInfo] = {}
    for shot in shots:
        if shot.video_id not in videos:
            videos[shot.video_id] = await scope.get_video(shot.video_id)
    ordered = [
        shot.model_copy(update={"video_title": shot.video_title or videos[shot.video_id].name})
        for shot in group_by_video(shots)
    ]
    hits = remember_hits(ctx.session, ordered)
    ctx.output.add_card(SearchResultsCard(agent_name=agent_name, query=query, results=_results(ordered, videos)))
    ctx.output.push_update()
    lines = [f"Found {len(hits)} hit(s) for {query!r} in {len(videos)} video(s):"]
    lines += [_hit_line(number, hit) for number, hit in enumerate(hits, start=1)]
    compiled = await _compile(ctx, agent_name, query, ordered, videos)
    if isinstance(compiled, VideoData):
        lines.append(f"All hits as one stream: {links_line(compiled)}")
    else:
        lines.append(f"(Could not compile the hits into one stream: {compiled})")
    data = {
        "hits": [hit.model_dump() for hit in hits],
        "stream": compiled.model_dump(mode="json") if isinstance(compiled, VideoData) else None,
    }
    return "\n".join(lines), data


def _results(ordered: list[Shot], videos: dict[str, VideoInfo]) -> list[SearchResultVideo]:
    results: dict[str, SearchResultVideo] = {}
    for shot in ordered:
        info = videos[shot.video_id]
        entry = results.setdefault(
            shot.video_id,
            SearchResultVideo(
                video_id=info.id, title=info.name, stream_url=info.stream_url, player_url=info.player_url
            ),
        )
        entry.shots.append(ShotData(start=shot.start, end=shot.end, text=shot.text, score=shot.score))
    return list(results.values())


def _hit_line(number: int, hit: Hit) -> str:
    text = " ".join(hit.text.split())
    if len(text) > _QUOTE_CHARS:
        text = text[: _QUOTE_CHARS - 1] + "…"
    return f"{number}. {hit.title!r} (id {hit.video_id}) {fmt_span(hit.start, hit.end)} “{text}”"


async def _compile(ctx: AgentContext, agent_name: str, query: str, ordered: list[Shot],
                   videos: dict[str, VideoInfo]) -> VideoData | str:
    """The hits as one stream card, or why not: the hits stand on their own either way."""
    refs = [ShotRef(video_id=s.video_id, start=span[0], end=span[1]) for s in ordered
            for span in [playable_range(s.start, s.end, videos[s.video_id].length)]]
    try:
        with Progress(ctx, agent_name, f"compiling {len(refs)} hit(s) into one stream…") as progress:
            link = await ctx.session.collection.compile(refs, progress.report)
            progress.done(f"Compiled {len(refs)} hit(s) into one stream.")
    except DirectorError as exc:
        log.info("hits not compiled", extra={"agent": agent_name, "error": type(exc).__name__})
        return exc.user_message
    data = stream_data(link, name=f"{len(refs)} hit(s) for {query!r}")
    ctx.output.add_card(VideoCard(agent_name=agent_name, video=data))
    ctx.output.push_update()
    return data
