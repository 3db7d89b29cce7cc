"""`generate_voice`: speech audio from text (VideoDB)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.present import links_line, stream_data
from core.agents.progress import Progress
from core.messages import VideoCard
from core.video.backend import Capability


class GenerateVoiceParams(BaseModel):
    text: str = Field(min_length=1, max_length=5000, description="The words to speak.")
    voice_name: str = Field(default="Default", description="Name of the voice to use; \"Default\" if unsure.")


class GenerateVoiceAgent(BaseAgent[GenerateVoiceParams]):
    name = "generate_voice"
    requires = Capability.generate_voice
    description = (
        "Turn text into spoken audio (a voice-over). Needs the VideoDB backend. Returns the audio's links."
    )
    Params = GenerateVoiceParams
    timeout_s = 600.0

    async def run(self, ctx: AgentContext, params: GenerateVoiceParams) -> AgentResponse:
        ctx.session.collection.backend.require(Capability.generate_voice)
        with Progress(ctx, self.name, "generating the voice-over…") as progress:
            link = await ctx.session.collection.generate_voice(params.text, params.voice_name)
            progress.done("Generated the voice-over.")
        data = stream_data(link, name=link.title or "Voice-over")
        ctx.output.add_card(VideoCard(agent_name=self.name, video=data))
        ctx.output.push_update()
        return AgentResponse.ok(f"Generated the voice-over: {links_line(data)}", audio=data.model_dump(mode="json"))
