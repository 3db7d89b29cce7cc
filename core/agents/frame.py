"""`frame`: a still image of a video at a moment."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.present import fmt_time
from core.agents.resolve import VIDEO_DESCRIPTION, resolve_video
from core.errors import InvalidRange
from core.messages import ImageCard


class FrameParams(BaseModel):
    video: str = Field(description=VIDEO_DESCRIPTION)
    at: float = Field(ge=0, description="The second to grab.")


class FrameAgent(BaseAgent[FrameParams]):
    name = "frame"
    description = (
        "A still image of a video at a given second, e.g. to show a slide."
    )
    Params = FrameParams

    async def run(self, ctx: AgentContext, params: FrameParams) -> AgentResponse:
        info = await resolve_video(ctx.session, params.video)
        if info.length is not None and params.at > info.length:
            raise InvalidRange(f"{info.name!r} is only {fmt_time(info.length)} long; pick a moment before that.")
        image = await ctx.session.collection.frame(info.id, params.at)
        alt = f"Frame of {info.name} at {fmt_time(params.at)}"
        ctx.output.add_card(ImageCard(agent_name=self.name, url=image.url, alt=alt))
        ctx.output.push_update()
        return AgentResponse.ok(f"{alt}: {image.url}", video_id=info.id, url=image.url)
