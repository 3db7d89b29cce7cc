"""Every agent the reasoning engine offers, by name; the one list to add a tool to."""

from __future__ import annotations

from core.agents.base import BaseAgent
from core.agents.clip import ClipAgent
from core.agents.compile import CompileAgent
from core.agents.dub import DubAgent
from core.agents.find_videos import FindVideosAgent
from core.agents.frame import FrameAgent
from core.agents.generate_image import GenerateImageAgent
from core.agents.generate_music import GenerateMusicAgent
from core.agents.generate_video import GenerateVideoAgent
from core.agents.generate_voice import GenerateVoiceAgent
from core.agents.index import IndexAgent
from core.agents.scene_index import SceneIndexAgent
from core.agents.search import SearchAgent
from core.agents.stream_video import StreamVideoAgent
from core.agents.subtitles import SubtitlesAgent
from core.agents.summarize import SummarizeAgent
from core.agents.transcript import TranscriptAgent
from core.agents.upload import UploadAgent
from core.agents.videos import VideosAgent
from core.agents.visual_search import VisualSearchAgent
from core.video.backend import Capability

_AGENT_TYPES: tuple[type[BaseAgent], ...] = (
    UploadAgent,
    IndexAgent,
    SearchAgent,
    TranscriptAgent,
    SummarizeAgent,
    ClipAgent,
    CompileAgent,
    VideosAgent,
    FindVideosAgent,
    FrameAgent,
    StreamVideoAgent,
    SceneIndexAgent,
    VisualSearchAgent,
    SubtitlesAgent,
    DubAgent,
    GenerateImageAgent,
    GenerateVoiceAgent,
    GenerateMusicAgent,
    GenerateVideoAgent,
)


def all_agents() -> list[BaseAgent]:
    """Fresh instances, in the order the tools are offered to the model."""
    return [agent_type() for agent_type in _AGENT_TYPES]


def agents_for(capabilities: frozenset[Capability]) -> list[BaseAgent]:
    """The agents a backend with these capabilities can run (what its model is offered)."""
    return [agent for agent in all_agents() if agent.runs_on(capabilities)]


def agent_map() -> dict[str, BaseAgent]:
    return {agent.name: agent for agent in all_agents()}
