"""`generate_music`: music from a text prompt (VideoDB)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.present import links_line, stream_data
from core.agents.progress import Progress
from core.messages import VideoCard
from core.video.backend import Capability


class GenerateMusicParams(BaseModel):
    prompt: str = Field(min_length=1, description="The music's mood, style and instruments.")
    duration: float = Field(default=5, gt=0, le=300, description="Length in seconds.")


class GenerateMusicAgent(BaseAgent[GenerateMusicParams]):
    name = "generate_music"
    requires = Capability.generate_music
    description = "Generate a piece of music from a text prompt. Needs the VideoDB backend. Returns the audio's links."
    Params = GenerateMusicParams
    timeout_s = 600.0

    async def run(self, ctx: AgentContext, params: GenerateMusicParams) -> AgentResponse:
        ctx.session.collection.backend.require(Capability.generate_music)
        with Progress(ctx, self.name, "generating music…") as progress:
            link = await ctx.session.collection.generate_music(params.prompt, params.duration)
            progress.done("Generated the music.")
        data = stream_data(link, name=link.title or "Music")
        ctx.output.add_card(VideoCard(agent_name=self.name, video=data))
        ctx.output.push_update()
        return AgentResponse.ok(f"Generated the music: {links_line(data)}", audio=data.model_dump(mode="json"))
