"""`stream_video`: the links to watch a whole video."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.present import links_line, stream_data
from core.agents.resolve import VIDEO_DESCRIPTION, resolve_video
from core.messages import VideoCard


class StreamVideoParams(BaseModel):
    video: str = Field(description=VIDEO_DESCRIPTION)


class StreamVideoAgent(BaseAgent[StreamVideoParams]):
    name = "stream_video"
    description = (
        "Links to watch, stream and download a whole video."
    )
    Params = StreamVideoParams

    async def run(self, ctx: AgentContext, params: StreamVideoParams) -> AgentResponse:
        info = await resolve_video(ctx.session, params.video)
        link = await ctx.session.collection.stream(info.id)
        data = stream_data(link, name=info.name)
        data.thumbnail_url = data.thumbnail_url or info.thumbnail_url
        ctx.output.add_card(VideoCard(agent_name=self.name, video=data))
        ctx.output.push_update()
        return AgentResponse.ok(
            f"{info.name!r} (id {info.id}): {links_line(data)}", video_id=info.id, stream=data.model_dump(mode="json")
        )
