"""`index`: index one video's spoken words so it can be searched and transcribed."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.resolve import VIDEO_DESCRIPTION, resolve_video
from core.agents.spoken import index_videos


class IndexParams(BaseModel):
    video: str = Field(description=VIDEO_DESCRIPTION)
    force: bool = Field(default=False, description="Index again even if already indexed.")


class IndexAgent(BaseAgent[IndexParams]):
    name = "index"
    description = (
        "Index a video's speech so it can be searched. Uploads are indexed already: "
        "use this only when asked to (re)index."
    )
    Params = IndexParams
    timeout_s = 1800.0

    async def run(self, ctx: AgentContext, params: IndexParams) -> AgentResponse:
        info = await resolve_video(ctx.session, params.video)
        if info.indexed and not params.force:
            return AgentResponse.ok(f"{info.name!r} (id {info.id}) is already indexed.", video_id=info.id)
        await index_videos(ctx, self.name, [info])
        return AgentResponse.ok(
            f"Indexed the spoken words of {info.name!r} (id {info.id}); it can be searched now.", video_id=info.id
        )
