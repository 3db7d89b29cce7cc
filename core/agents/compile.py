"""`compile`: several ranges, across videos, into one stream."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.hits import clamp_to_video, playable_range, recall_hit
from core.agents.present import fmt_span, links_line, stream_data
from core.agents.progress import Progress
from core.agents.resolve import VIDEO_DESCRIPTION, resolve_video
from core.agents.results import show_hits
from core.agents.search import spoken_hits
from core.errors import InputError
from core.messages import VideoCard
from core.video.backend import ShotRef


class Range(BaseModel):
    video: str = Field(description=VIDEO_DESCRIPTION)
    start: float = Field(ge=0, description="Start, in seconds.")
    end: float = Field(gt=0, description="End, in seconds.")

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class CompileParams(BaseModel):
    query: str | None = Field(
        default=None, min_length=1, description="Words to search for; their best hits are joined."
    )
    hits: list[int] | None = Field(
        default=None, min_length=1, description="Hit numbers of the last search, in play order."
    )
    ranges: list[Range] | None = Field(
        default=None, min_length=1, description="Ranges to play, in order."
    )
    limit: int = Field(default=5, ge=1, le=20, description="With `query`: most hits.")

    @model_validator(mode="after")
    def _one_source(self) -> "CompileParams":
        given = [name for name in ("query", "hits", "ranges") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of query, hits or ranges")
        return self


class CompileAgent(BaseAgent[CompileParams]):
    name = "compile"
    description = (
        "Join several moments, possibly of different videos, into one stream: `hits` of the last search, "
        "`ranges`, or a `query` to search the speech for."
    )
    Params = CompileParams
    timeout_s = 1800.0

    async def run(self, ctx: AgentContext, params: CompileParams) -> AgentResponse:
        if params.query is not None:
            shots = await spoken_hits(ctx, self.name, params.query, None, params.limit)
            if not shots:
                raise InputError(f"No matches for {params.query!r} in this channel's videos, so nothing to compile.")
            message, data = await show_hits(ctx, self.name, params.query, shots)
            return AgentResponse.ok(message, **data)
        refs, titles, cut = await _refs(ctx, params)
        note = f" ({'; '.join(cut)})" if cut else ""
        with Progress(ctx, self.name, f"compiling {len(refs)} range(s) into one stream…") as progress:
            link = await ctx.session.collection.compile(refs, progress.report)
            progress.done(f"Compiled {len(refs)} range(s) from {len(set(titles))} video(s){note}.")
        data = stream_data(link, name=f"{len(refs)} clips from {', '.join(dict.fromkeys(titles))}")
        ctx.output.add_card(VideoCard(agent_name=self.name, video=data))
        ctx.output.push_update()
        listed = "; ".join(f"{t!r} {fmt_span(r.start, r.end)}" for t, r in zip(titles, refs))
        return AgentResponse.ok(
            f"Compiled {len(refs)} range(s) ({listed}) into one stream{note}: {links_line(data)}",
            stream=data.model_dump(mode="json"),
        )


async def _refs(ctx: AgentContext, params: CompileParams) -> tuple[list[ShotRef], list[str], list[str]]:
    """The ranges to join, their videos' titles, and a note for each range cut at its video's end."""
    refs: list[ShotRef] = []
    titles: list[str] = []
    cut: list[str] = []
    if params.hits is not None:
        for number in params.hits:
            hit = recall_hit(ctx.session, number)
            info = await ctx.session.collection.get_video(hit.video_id)
            start, end = playable_range(hit.start, hit.end, info.length)
            refs.append(ShotRef(video_id=hit.video_id, start=start, end=end))
            titles.append(hit.title)
        return refs, titles, cut
    for item in params.ranges or []:
        info = await resolve_video(ctx.session, item.video)
        end, note = clamp_to_video(item.start, item.end, info.length)
        refs.append(ShotRef(video_id=info.id, start=item.start, end=end))
        titles.append(info.name)
        if note:
            cut.append(f"{info.name!r}{note}")
    return refs, titles, cut
