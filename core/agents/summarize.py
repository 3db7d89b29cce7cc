"""`summarize`: a summary of a video's speech; map-reduce with an LLM, extractive without."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.extractive import pick, sentences
from core.agents.present import fmt_time
from core.agents.progress import Progress
from core.agents.resolve import VIDEO_DESCRIPTION, resolve_video
from core.agents.spoken import transcript_or_index
from core.agents.transcript import paginate, timestamped_lines
from core.errors import LLMError
from core.messages import TextCard
from core.video.backend import TranscriptSegment, VideoInfo

CHUNK_CHARS = 6000
_PARALLEL_CHUNKS = 3

SYSTEM = (
    "You summarise video transcripts for a team chat. Be concise and factual: a one-line gist, then 3 to 7 "
    "bullet points with the [m:ss] timestamp where each point is made. Use only what the transcript says."
)
PART_SYSTEM = (
    "You summarise one part of a longer video transcript. List its main points as short bullets, each with "
    "the [m:ss] timestamp where it is made. Use only what the text says."
)
COMBINE_SYSTEM = (
    "You combine partial summaries of consecutive parts of one video into a single summary: a one-line gist, "
    "then 3 to 7 bullet points with their [m:ss] timestamps, in order, without repetition."
)


class SummarizeParams(BaseModel):
    video: str = Field(description=VIDEO_DESCRIPTION)
    focus: str | None = Field(
        default=None, description="A topic to focus on."
    )


class SummarizeAgent(BaseAgent[SummarizeParams]):
    name = "summarize"
    description = (
        "Summarise what is said in a video, with timestamps, optionally about one topic."
    )
    Params = SummarizeParams
    timeout_s = 1800.0

    def __init__(self, chunk_chars: int = CHUNK_CHARS) -> None:
        self.chunk_chars = chunk_chars

    async def run(self, ctx: AgentContext, params: SummarizeParams) -> AgentResponse:
        info = await resolve_video(ctx.session, params.video)
        segments = await transcript_or_index(ctx, self.name, info)
        if not any(s.text.strip() for s in segments):
            return AgentResponse.ok(f"Nothing is said in {info.name!r}, so there is nothing to summarise.")
        if ctx.llm.can_generate:
            summary = await _generated(ctx, self.name, info, segments, params.focus, self.chunk_chars)
            text = f"Summary of {info.name!r}" + (f" (focus: {params.focus})" if params.focus else "") + f":\n{summary}"
            kind = "generated"
        else:
            text = extractive_summary(info, segments, params.focus)
            kind = "extractive"
        ctx.output.add_card(TextCard(agent_name=self.name, text=text))
        ctx.output.push_update()
        return AgentResponse.ok(text, video_id=info.id, kind=kind)


def extractive_summary(info: VideoInfo, segments: list[TranscriptSegment], focus: str | None) -> str:
    chosen = pick(sentences(segments), focus)
    about = f", preferring sentences about {focus!r}" if focus else ""
    header = (
        f"Extractive summary of {info.name!r} (no LLM is configured, so these are the {len(chosen)} most "
        f"representative sentences of the transcript{about}, in order):"
    )
    return "\n".join([header] + [f"• [{fmt_time(s.at)}] {s.text}" for s in chosen])


async def _generated(
    ctx: AgentContext,
    agent_name: str,
    info: VideoInfo,
    segments: list[TranscriptSegment],
    focus: str | None,
    chunk_chars: int,
) -> str:
    """Map-reduce: summarise ~6,000-character chunks in parallel, then combine the partial summaries."""
    focus_line = f"Focus on: {focus}\n" if focus else ""
    chunks = paginate(timestamped_lines(segments), chunk_chars)
    with Progress(ctx, agent_name, f"summarising {info.name!r}…") as progress:
        if len(chunks) == 1:
            summary = await _complete(ctx, SYSTEM, f"Video: {info.name}\n{focus_line}Transcript:\n{chunks[0]}")
        else:
            partials = await _summarise_parts(ctx, info, chunks, focus_line, progress)
            progress.update(f"combining {len(partials)} partial summaries…")
            joined = "\n\n".join(f"Part {i} of {len(partials)}:\n{p}" for i, p in enumerate(partials, start=1))
            summary = await _complete(ctx, COMBINE_SYSTEM, f"Video: {info.name}\n{focus_line}{joined}")
        progress.done(f"Summarised {info.name!r}.")
    return summary


async def _summarise_parts(
    ctx: AgentContext, info: VideoInfo, chunks: list[str], focus_line: str, progress: Progress
) -> list[str]:
    limit = asyncio.Semaphore(_PARALLEL_CHUNKS)
    finished = 0

    async def one(number: int, chunk: str) -> str:
        nonlocal finished
        async with limit:
            prompt = f"Video: {info.name} (part {number} of {len(chunks)})\n{focus_line}Transcript:\n{chunk}"
            partial = await _complete(ctx, PART_SYSTEM, prompt)
        finished += 1
        progress.update(f"summarised {finished} of {len(chunks)} parts…", finished / len(chunks))
        return partial

    return list(await asyncio.gather(*(one(i, c) for i, c in enumerate(chunks, start=1))))


async def _complete(ctx: AgentContext, system: str, prompt: str) -> str:
    text = (await ctx.llm.complete(system, prompt)).strip()
    if not text:
        raise LLMError("The language model returned an empty summary; try again.")
    return text
