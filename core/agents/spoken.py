"""Spoken-word work that indexes on demand: a transcript or search should not fail
just because nobody asked to index the video first."""

from __future__ import annotations

from core.agents.base import AgentContext
from core.agents.progress import Progress
from core.errors import InputError, NotIndexed
from core.video.backend import ProgressFn, TranscriptSegment, VideoInfo


async def index_videos(ctx: AgentContext, agent_name: str, videos: list[VideoInfo]) -> None:
    """Index the spoken words of `videos`, one progress card for all of them."""
    if not videos:
        return
    scope = ctx.session.collection
    count = len(videos)
    with Progress(ctx, agent_name, "indexing spoken words…") as progress:
        for number, info in enumerate(videos, start=1):
            label = f"indexing spoken words of {info.name!r}" + (f" ({number} of {count})" if count > 1 else "")
            progress.update(f"{label}…")
            await scope.index_spoken_words(info.id, _labelled(progress, label))
        names = ", ".join(repr(v.name) for v in videos)
        progress.done(f"Indexed the spoken words of {names}.")


def _labelled(progress: Progress, label: str) -> ProgressFn:
    """Show the backend's fractions under our label ("indexing spoken words of 'x'… 40%")."""

    def report(message: str, fraction: float | None = None) -> None:
        progress.update(f"{label}…", fraction)

    return report


async def unindexed_videos(ctx: AgentContext, video: VideoInfo | None) -> list[VideoInfo]:
    """After NotIndexed: the videos a search over `video` (or the whole channel) needs indexed."""
    if video is not None:
        return [video]
    videos = await ctx.session.collection.list_videos()
    if not videos:
        raise InputError("This channel has no videos yet. Upload one first.")
    return [v for v in videos if not v.indexed]


async def transcript_or_index(
    ctx: AgentContext, agent_name: str, info: VideoInfo, start: float | None = None, end: float | None = None
) -> list[TranscriptSegment]:
    """The transcript of `info`; indexes its spoken words first if needed."""
    scope = ctx.session.collection
    try:
        return await scope.transcript(info.id, start, end)
    except NotIndexed:
        await index_videos(ctx, agent_name, [info])
    return await scope.transcript(info.id, start, end)
