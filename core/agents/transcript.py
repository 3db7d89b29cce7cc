"""`transcript`: what was said in a video, with timestamps, a page at a time."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.present import fmt_time
from core.agents.resolve import VIDEO_DESCRIPTION, resolve_video
from core.agents.spoken import transcript_or_index
from core.errors import InputError, InvalidRange
from core.messages import TextCard
from core.video.backend import TranscriptSegment

PAGE_CHARS = 3000


class TranscriptParams(BaseModel):
    video: str = Field(description=VIDEO_DESCRIPTION)
    start: float | None = Field(default=None, ge=0, description="From this second.")
    end: float | None = Field(default=None, gt=0, description="Up to this second.")
    page: int = Field(default=1, ge=1, description="Page number, from 1.")

    @model_validator(mode="after")
    def _ordered(self) -> "TranscriptParams":
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class TranscriptAgent(BaseAgent[TranscriptParams]):
    name = "transcript"
    description = (
        "A video's transcript with timestamps, one page (about 3,000 characters) at a time, "
        "optionally of a time range only."
    )
    Params = TranscriptParams
    timeout_s = 1800.0

    def __init__(self, page_chars: int = PAGE_CHARS) -> None:
        self.page_chars = page_chars

    async def run(self, ctx: AgentContext, params: TranscriptParams) -> AgentResponse:
        info = await resolve_video(ctx.session, params.video)
        if info.length is not None and params.start is not None and params.start >= info.length:
            raise InvalidRange(
                f"{info.name!r} is only {fmt_time(info.length)} long; {fmt_time(params.start)} is past its end."
            )
        segments = await transcript_or_index(ctx, self.name, info, params.start, params.end)
        span = _span(params.start, params.end)
        if not segments:
            text = f"Nothing is said in {info.name!r}{span}."
            ctx.output.add_card(TextCard(agent_name=self.name, text=text))
            ctx.output.push_update()
            return AgentResponse.ok(text, video_id=info.id, page=1, pages=0)
        pages = paginate(timestamped_lines(segments), self.page_chars)
        if params.page > len(pages):
            raise InputError(f"The transcript of {info.name!r}{span} has only {len(pages)} page(s).")
        body = pages[params.page - 1]
        header = f"Transcript of {info.name!r} (id {info.id}){span}, page {params.page} of {len(pages)}"
        ctx.output.add_card(TextCard(agent_name=self.name, text=f"{header}:\n{body}"))
        ctx.output.push_update()
        more = f"\n(Ask for page {params.page + 1} for more.)" if params.page < len(pages) else ""
        return AgentResponse.ok(
            f"{header}:\n{body}{more}", video_id=info.id, page=params.page, pages=len(pages)
        )


def _span(start: float | None, end: float | None) -> str:
    if start and end:
        return f" between {fmt_time(start)} and {fmt_time(end)}"
    if start:
        return f" after {fmt_time(start)}"
    if end:
        return f" before {fmt_time(end)}"
    return ""


def timestamped_lines(segments: list[TranscriptSegment]) -> list[str]:
    return [f"[{fmt_time(s.start)}] {' '.join(s.text.split())}" for s in segments if s.text.strip()]


def paginate(lines: list[str], size: int) -> list[str]:
    """Lines joined into pages of at most about `size` characters, never splitting a line."""
    pages: list[str] = []
    current: list[str] = []
    length = 0
    for line in lines:
        if current and length + len(line) + 1 > size:
            pages.append("\n".join(current))
            current, length = [], 0
        current.append(line)
        length += len(line) + 1
    if current:
        pages.append("\n".join(current))
    return pages
