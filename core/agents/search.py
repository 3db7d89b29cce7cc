"""`search`: find where something is said, in one video or all of this channel's videos."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.hits import remember_hits
from core.agents.resolve import VIDEO_DESCRIPTION, resolve_video
from core.agents.results import show_hits
from core.agents.spoken import index_videos, unindexed_videos
from core.errors import NotIndexed
from core.messages import TextCard
from core.video.backend import Shot, VideoInfo


class SearchParams(BaseModel):
    query: str = Field(min_length=1, description="Words or a topic to find in the speech.")
    video: str | None = Field(
        default=None, description=VIDEO_DESCRIPTION + " Omit to search every video."
    )
    limit: int = Field(default=5, ge=1, le=20, description="Most hits.")


class SearchAgent(BaseAgent[SearchParams]):
    name = "search"
    description = (
        "Find where words or a topic are said in this channel's videos. Returns numbered hits "
        "(video, start-end, quote) that `clip` (`hit`) and `compile` (`hits`) can use next."
    )
    Params = SearchParams
    timeout_s = 1800.0

    async def run(self, ctx: AgentContext, params: SearchParams) -> AgentResponse:
        video = await resolve_video(ctx.session, params.video) if params.video else None
        shots = await spoken_hits(ctx, self.name, params.query, video, params.limit)
        if not shots:
            remember_hits(ctx.session, [])
            where = f"{video.name!r}" if video else "this channel's videos"
            text = f"No matches for {params.query!r} in {where}."
            ctx.output.add_card(TextCard(agent_name=self.name, text=text))
            ctx.output.push_update()
            return AgentResponse.ok(text, hits=[])
        message, data = await show_hits(ctx, self.name, params.query, shots)
        return AgentResponse.ok(message, **data)


async def spoken_hits(
    ctx: AgentContext, agent_name: str, query: str, video: VideoInfo | None, limit: int
) -> list[Shot]:
    """Spoken-word hits; if nothing is indexed yet, index what is missing and try once more."""
    scope = ctx.session.collection
    video_id = video.id if video else None
    try:
        return await scope.search_spoken(query, video_id, limit)
    except NotIndexed:
        await index_videos(ctx, agent_name, await unindexed_videos(ctx, video))
    return await scope.search_spoken(query, video_id, limit)
