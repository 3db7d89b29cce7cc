"""`subtitles`: a version of a video with its speech burnt in as subtitles (VideoDB)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.present import links_line, stream_data
from core.agents.progress import Progress
from core.agents.resolve import VIDEO_DESCRIPTION, resolve_video
from core.messages import VideoCard
from core.video.backend import Capability


class SubtitlesParams(BaseModel):
    video: str = Field(description=VIDEO_DESCRIPTION)


class SubtitlesAgent(BaseAgent[SubtitlesParams]):
    name = "subtitles"
    requires = Capability.subtitles
    description = (
        "Make a subtitled version of a video (its speech shown as captions). Needs the VideoDB backend. "
        "Returns the subtitled stream's links."
    )
    Params = SubtitlesParams
    timeout_s = 1800.0

    async def run(self, ctx: AgentContext, params: SubtitlesParams) -> AgentResponse:
        ctx.session.collection.backend.require(Capability.subtitles)
        info = await resolve_video(ctx.session, params.video)
        with Progress(ctx, self.name, f"adding subtitles to {info.name!r}…") as progress:
            link = await ctx.session.collection.add_subtitles(info.id, progress.report)
            progress.done(f"Added subtitles to {info.name!r}.")
        data = stream_data(link, name=f"{info.name} (subtitled)")
        ctx.output.add_card(VideoCard(agent_name=self.name, video=data))
        ctx.output.push_update()
        return AgentResponse.ok(
            f"Subtitled {info.name!r} (id {info.id}): {links_line(data)}", stream=data.model_dump(mode="json")
        )
