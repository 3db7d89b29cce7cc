"""`find_videos`: videos of this channel whose titles match some words."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.present import video_data, video_line
from core.messages import TextCard, VideosCard


class FindVideosParams(BaseModel):
    query: str = Field(min_length=1, description="Words in the title.")
    limit: int = Field(default=10, ge=1, le=50, description="Most videos.")


class FindVideosAgent(BaseAgent[FindVideosParams]):
    name = "find_videos"
    description = (
        "Find this channel's videos by words in their titles (for what is said, use `search`)."
    )
    Params = FindVideosParams

    async def run(self, ctx: AgentContext, params: FindVideosParams) -> AgentResponse:
        found = await ctx.session.collection.find_videos(params.query, params.limit)
        if not found:
            text = f"No video titles match {params.query!r}."
            ctx.output.add_card(TextCard(agent_name=self.name, text=text))
            ctx.output.push_update()
            return AgentResponse.ok(text, videos=[])
        ctx.output.add_card(VideosCard(agent_name=self.name, videos=[video_data(v) for v in found], total=len(found)))
        ctx.output.push_update()
        lines = [f"{len(found)} video(s) with titles matching {params.query!r}:"]
        lines += [f"{i}. {video_line(v)}" for i, v in enumerate(found, start=1)]
        return AgentResponse.ok("\n".join(lines), videos=[v.model_dump(mode="json") for v in found])
