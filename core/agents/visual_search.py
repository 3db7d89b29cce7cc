"""`visual_search`: find moments by what they show, in scene-indexed videos (VideoDB)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.hits import remember_hits
from core.agents.resolve import VIDEO_DESCRIPTION, resolve_video
from core.agents.results import show_hits
from core.messages import TextCard
from core.video.backend import Capability


class VisualSearchParams(BaseModel):
    query: str = Field(min_length=1, description="What should be visible, e.g. \"a whiteboard with a diagram\".")
    video: str | None = Field(
        default=None, description=VIDEO_DESCRIPTION + " Leave out to search every video in this channel."
    )
    limit: int = Field(default=5, ge=1, le=20, description="Most hits to return.")


class VisualSearchAgent(BaseAgent[VisualSearchParams]):
    name = "visual_search"
    requires = Capability.visual_search
    description = (
        "Search scene-indexed videos for moments by what they show (not what is said; use `search` for "
        "speech). Needs the VideoDB backend and `scene_index` first. Returns numbered hits and one stream of "
        "them; the hits are remembered for `clip` and `compile`."
    )
    Params = VisualSearchParams

    async def run(self, ctx: AgentContext, params: VisualSearchParams) -> AgentResponse:
        ctx.session.collection.backend.require(Capability.visual_search)
        video = await resolve_video(ctx.session, params.video) if params.video else None
        shots = await ctx.session.collection.search_visual(params.query, video.id if video else None, params.limit)
        if not shots:
            remember_hits(ctx.session, [])
            text = f"No scenes match {params.query!r}."
            ctx.output.add_card(TextCard(agent_name=self.name, text=text))
            ctx.output.push_update()
            return AgentResponse.ok(text, hits=[])
        message, data = await show_hits(ctx, self.name, params.query, shots)
        return AgentResponse.ok(message, **data)
