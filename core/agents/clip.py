"""`clip`: one range of one video (or one remembered search hit) as a playable stream."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.hits import clamp_to_video, hit_for_range, playable_range, recall_hit
from core.agents.present import fmt_span, links_line, stream_data
from core.agents.progress import Progress
from core.agents.resolve import LAST_VIDEO_KEY, VIDEO_DESCRIPTION, resolve_video
from core.messages import VideoCard
from core.video.backend import VideoInfo


class ClipParams(BaseModel):
    video: str | None = Field(default=None, description=VIDEO_DESCRIPTION + " Not needed with `hit`.")
    start: float | None = Field(default=None, ge=0, description="Start, in seconds.")
    end: float | None = Field(default=None, gt=0, description="End, in seconds.")
    hit: int | None = Field(default=None, ge=1, description="Number of a hit of the last search (1 = first).")

    @model_validator(mode="after")
    def _complete(self) -> "ClipParams":
        if self.hit is None and (self.start is None or self.end is None):
            raise ValueError("give video, start and end, or the number of a search hit")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ClipAgent(BaseAgent[ClipParams]):
    name = "clip"
    description = (
        "Cut one range of a video into a playable clip: `video`, `start` and `end` in seconds, or `hit`, "
        "a hit number of the last search. For several ranges use `compile`."
    )
    Params = ClipParams
    timeout_s = 1800.0

    async def run(self, ctx: AgentContext, params: ClipParams) -> AgentResponse:
        info, start, end = await _target(ctx, params)
        end, note = clamp_to_video(start, end, info.length)
        with Progress(ctx, self.name, f"clipping {info.name!r} {fmt_span(start, end)}…") as progress:
            link = await ctx.session.collection.stream(info.id, [(start, end)], progress.report)
            progress.done(f"Clipped {info.name!r} {fmt_span(link.start, link.end)}{note}.")
        data = stream_data(link, name=f"{info.name} {fmt_span(link.start, link.end)}")
        ctx.output.add_card(VideoCard(agent_name=self.name, video=data))
        ctx.output.push_update()
        return AgentResponse.ok(
            f"Clip of {info.name!r} (id {info.id}) {fmt_span(link.start, link.end)}{note}: {links_line(data)}",
            video_id=info.id,
            clip=data.model_dump(mode="json"),
        )


async def _target(ctx: AgentContext, params: ClipParams) -> tuple[VideoInfo, float, float]:
    """The video and range to clip: a remembered hit (its own range unless both bounds are
    given), times that point at a remembered hit (that hit, padded), or as given."""
    session = ctx.session
    if params.hit is not None:
        hit = recall_hit(session, params.hit)
        info = await session.collection.get_video(hit.video_id)
        session.memory[LAST_VIDEO_KEY] = info.id
        if params.start is not None and params.end is not None:
            return info, params.start, params.end
        return (info, *playable_range(hit.start, hit.end, info.length))
    assert params.start is not None and params.end is not None
    start, end = params.start, params.end
    if params.video is None:  # "clip that" with times only: the hit they point at, else the last video
        hit = hit_for_range(session, start, end)
        info = await (session.collection.get_video(hit.video_id) if hit else resolve_video(session, "it"))
    else:
        info = await resolve_video(session, params.video)
        hit = hit_for_range(session, start, end, info.id)
    session.memory[LAST_VIDEO_KEY] = info.id
    if hit is not None:
        return (info, *playable_range(min(start, hit.start), max(end, hit.end), info.length))
    return info, start, end
