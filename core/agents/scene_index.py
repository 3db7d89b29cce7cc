"""`scene_index`: describe what is seen in a video, so it can be searched visually (VideoDB)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.progress import Progress
from core.agents.resolve import VIDEO_DESCRIPTION, resolve_video
from core.video.backend import Capability


class SceneIndexParams(BaseModel):
    video: str = Field(description=VIDEO_DESCRIPTION)
    prompt: str | None = Field(
        default=None, description="What to describe in each scene, e.g. \"people, objects and on-screen text\"."
    )


class SceneIndexAgent(BaseAgent[SceneIndexParams]):
    name = "scene_index"
    requires = Capability.scene_index
    description = (
        "Index what is visible in a video (scenes described by a vision model) so `visual_search` can find "
        "moments by what they show. Needs the VideoDB backend. Returns the scene index id."
    )
    Params = SceneIndexParams
    timeout_s = 1800.0

    async def run(self, ctx: AgentContext, params: SceneIndexParams) -> AgentResponse:
        ctx.session.collection.backend.require(Capability.scene_index)
        info = await resolve_video(ctx.session, params.video)
        with Progress(ctx, self.name, f"indexing the scenes of {info.name!r}…") as progress:
            index_id = await ctx.session.collection.index_scenes(info.id, params.prompt, progress.report)
            progress.done(f"Indexed the scenes of {info.name!r}.")
        return AgentResponse.ok(
            f"Indexed the scenes of {info.name!r} (id {info.id}); scene index {index_id}. "
            "Use visual_search to find moments by what they show.",
            video_id=info.id,
            scene_index_id=index_id,
        )
