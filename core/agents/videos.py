"""`videos`: what this channel's collection holds, most recent first."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.present import video_data, video_line
from core.messages import VideosCard


class VideosParams(BaseModel):
    limit: int = Field(default=20, ge=1, le=100, description="Most videos to list.")


class VideosAgent(BaseAgent[VideosParams]):
    name = "videos"
    description = (
        "List this channel's videos, newest first: ids, titles, lengths and the total count."
    )
    Params = VideosParams

    async def run(self, ctx: AgentContext, params: VideosParams) -> AgentResponse:
        overview = await ctx.session.collection.overview(recent=params.limit)
        ctx.output.add_card(
            VideosCard(agent_name=self.name, videos=[video_data(v) for v in overview.recent], total=overview.total)
        )
        ctx.output.push_update()
        if not overview.total:
            return AgentResponse.ok("This channel has no videos yet.", total=0, videos=[])
        shown = f", showing the {len(overview.recent)} most recent" if len(overview.recent) < overview.total else ""
        lines = [f"{overview.total} video(s) in this channel{shown}:"]
        lines += [f"{i}. {video_line(v)}" for i, v in enumerate(overview.recent, start=1)]
        return AgentResponse.ok(
            "\n".join(lines), total=overview.total, videos=[v.model_dump(mode="json") for v in overview.recent]
        )
