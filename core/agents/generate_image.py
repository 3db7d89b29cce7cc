"""`generate_image`: an image from a text prompt (VideoDB)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.messages import ImageCard
from core.video.backend import Capability


class GenerateImageParams(BaseModel):
    prompt: str = Field(min_length=1, description="What the image should show, in detail.")
    aspect_ratio: Literal["1:1", "16:9", "9:16", "4:3", "3:4"] = Field(
        default="1:1", description="Width to height: 1:1 square, 16:9 landscape, 9:16 portrait."
    )


class GenerateImageAgent(BaseAgent[GenerateImageParams]):
    name = "generate_image"
    requires = Capability.generate_image
    description = "Generate an image from a text prompt. Needs the VideoDB backend. Returns the image link."
    Params = GenerateImageParams
    timeout_s = 600.0

    async def run(self, ctx: AgentContext, params: GenerateImageParams) -> AgentResponse:
        ctx.session.collection.backend.require(Capability.generate_image)
        image = await ctx.session.collection.generate_image(params.prompt, params.aspect_ratio)
        ctx.output.add_card(ImageCard(agent_name=self.name, url=image.url, alt=params.prompt[:200]))
        ctx.output.push_update()
        return AgentResponse.ok(f"Generated an image: {image.url}", url=image.url)
