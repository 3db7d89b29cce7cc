"""`dub`: a copy of a video with its speech dubbed into another language (VideoDB)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.present import links_line, video_data
from core.agents.progress import Progress
from core.agents.resolve import LAST_VIDEO_KEY, VIDEO_DESCRIPTION, resolve_video
from core.messages import VideoCard
from core.video.backend import Capability


class DubParams(BaseModel):
    video: str = Field(description=VIDEO_DESCRIPTION)
    language_code: str = Field(
        min_length=2, max_length=16, description="Target language as an ISO code, e.g. \"es\", \"fr\", \"hi\"."
    )


class DubAgent(BaseAgent[DubParams]):
    name = "dub"
    requires = Capability.dubbing
    description = (
        "Dub a video's speech into another language; the dubbed copy is added to this channel as a new video. "
        "Needs the VideoDB backend. Returns the new video's id and links."
    )
    Params = DubParams
    timeout_s = 3600.0

    async def run(self, ctx: AgentContext, params: DubParams) -> AgentResponse:
        ctx.session.collection.backend.require(Capability.dubbing)
        info = await resolve_video(ctx.session, params.video)
        with Progress(ctx, self.name, f"dubbing {info.name!r} into {params.language_code}…") as progress:
            dubbed = await ctx.session.collection.dub(info.id, params.language_code, progress.report)
            progress.done(f"Dubbed {info.name!r} into {params.language_code}.")
        ctx.session.memory[LAST_VIDEO_KEY] = dubbed.id
        data = video_data(dubbed)
        ctx.output.add_card(VideoCard(agent_name=self.name, video=data))
        ctx.output.push_update()
        return AgentResponse.ok(
            f"Dubbed {info.name!r} into {params.language_code}: new video {dubbed.name!r} (id {dubbed.id}). "
            f"{links_line(data)}",
            video=dubbed.model_dump(mode="json"),
        )
