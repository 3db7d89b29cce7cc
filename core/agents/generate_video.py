"""`generate_video`: a short video from a text prompt, added to this channel (VideoDB)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.present import links_line, video_data
from core.agents.progress import Progress
from core.agents.resolve import LAST_VIDEO_KEY
from core.messages import VideoCard
from core.video.backend import Capability


class GenerateVideoParams(BaseModel):
    prompt: str = Field(min_length=1, description="What the video should show, in detail.")
    duration: int = Field(default=5, ge=5, le=8, description="Length in whole seconds, 5 to 8 (VideoDB's range).")


class GenerateVideoAgent(BaseAgent[GenerateVideoParams]):
    name = "generate_video"
    requires = Capability.generate_video
    description = (
        "Generate a short video from a text prompt; it is added to this channel as a new video. Needs the "
        "VideoDB backend. Returns the new video's id and links."
    )
    Params = GenerateVideoParams
    timeout_s = 1800.0

    async def run(self, ctx: AgentContext, params: GenerateVideoParams) -> AgentResponse:
        ctx.session.collection.backend.require(Capability.generate_video)
        with Progress(ctx, self.name, "generating the video…") as progress:
            info = await ctx.session.collection.generate_video(params.prompt, params.duration)
            progress.done(f"Generated {info.name!r}.")
        ctx.session.memory[LAST_VIDEO_KEY] = info.id
        data = video_data(info)
        ctx.output.add_card(VideoCard(agent_name=self.name, video=data))
        ctx.output.push_update()
        return AgentResponse.ok(
            f"Generated video {info.name!r} (id {info.id}): {links_line(data)}", video=info.model_dump(mode="json")
        )
