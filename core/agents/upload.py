"""`upload`: a URL or an attached file into this channel's videos, then index its speech."""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

from pydantic import BaseModel, Field

from core.agents.base import AgentContext, AgentResponse, BaseAgent
from core.agents.present import fmt_time, links_line, video_data
from core.agents.progress import Progress
from core.agents.resolve import LAST_VIDEO_KEY
from core.errors import AlreadyUploaded, DirectorError, InputError, TooLarge
from core.messages import Attachment, VideoCard
from core.video.backend import UploadSource, VideoInfo

log = logging.getLogger(__name__)


class UploadParams(BaseModel):
    url: str | None = Field(
        default=None,
        description="Link to a video file (YouTube pages on VideoDB only). Omit to upload the attachment.",
    )
    name: str | None = Field(
        default=None, description="Title to give the video."
    )
    attachment: int | None = Field(
        default=None,
        ge=1,
        description="Which attached file: 1, 2… Omit (with no url) for every attached file.",
    )
    index: bool = Field(
        default=True, description="Index the speech right after uploading."
    )


class UploadAgent(BaseAgent[UploadParams]):
    name = "upload"
    description = (
        "Add a video to this channel from a URL or an attached file, and index its speech. "
        "Returns its id, title, length and links."
    )
    Params = UploadParams
    timeout_s = 1800.0

    async def run(self, ctx: AgentContext, params: UploadParams) -> AgentResponse:
        targets = _targets(ctx, params)
        lines: list[str] = []
        uploaded: list[dict[str, object]] = []
        for attachment in targets:
            name = params.name if len(targets) == 1 else None
            try:
                info, summary = await self._upload_one(ctx, attachment, params.url, name, params.index)
            except DirectorError as exc:
                if len(targets) == 1:
                    raise
                lines.append(f"Could not upload {attachment.name if attachment else params.url}: {exc.user_message}")
                continue
            lines.append(f"{summary} {links_line(video_data(info))}".strip())
            uploaded.append(info.model_dump(mode="json"))
        if not uploaded:
            return AgentResponse.error("\n".join(lines))
        return AgentResponse.ok("\n".join(lines), videos=uploaded)

    async def _upload_one(
        self, ctx: AgentContext, attachment: Attachment | None, url: str | None, name: str | None, index: bool
    ) -> tuple[VideoInfo, str]:
        """Upload (and index) one video; its card ends as a VideoCard of the result.

        The same file already in the channel is not stored twice: the card offers the existing one.
        """
        what = attachment.name if attachment else url or ""
        with Progress(ctx, self.name, f"uploading {what}…") as progress:
            downloaded: Path | None = None
            try:
                if attachment is not None:
                    source, downloaded = await _attachment_source(ctx, attachment, progress)
                else:
                    source = UploadSource(url=url)
                progress.update(f"uploading {what}…")
                info = await ctx.session.collection.upload(source, name, progress.report)
                length = f", {fmt_time(info.length)}" if info.length is not None else ""
                headline = " ".join([f"Uploaded {info.name!r} (id {info.id}{length}).", *info.notes])
            except AlreadyUploaded as exc:
                info = exc.video  # type: ignore[assignment]
                headline = exc.user_message
            finally:
                if downloaded is not None:
                    downloaded.unlink(missing_ok=True)
            ctx.session.memory[LAST_VIDEO_KEY] = info.id
            if info.indexed:
                index_note = "Its spoken words are indexed; it can be searched."
            elif index:
                index_note = await _index(ctx, info, progress)
            else:
                index_note = "Spoken words not indexed."
            info = await ctx.session.collection.get_video(info.id)
            progress.done(f"{headline} {index_note}")
        ctx.output.add_card(VideoCard(agent_name=self.name, video=video_data(info)))
        ctx.output.push_update()
        return info, f"{headline} {index_note}"


def _targets(ctx: AgentContext, params: UploadParams) -> list[Attachment | None]:
    """What to upload: [None] for the URL, the chosen attachment, or every attachment."""
    count = len(ctx.attachments)
    if params.url and params.attachment is not None:
        raise InputError("Give either a URL or an attachment to upload, not both.")
    if params.url:
        return [None]
    if params.attachment is not None:
        if params.attachment > count:
            raise InputError(
                f"There is no attachment #{params.attachment}: the message has {count} attachment(s)"
                + (f", numbered 1–{count}." if count else ".")
            )
        return [ctx.attachments[params.attachment - 1]]
    if count == 0:
        raise InputError("Nothing to upload: give a video URL or attach a video file.")
    return list(ctx.attachments)


async def _attachment_source(
    ctx: AgentContext, attachment: Attachment, progress: Progress
) -> tuple[UploadSource, Path | None]:
    """The file to upload and, if we downloaded it ourselves, its path (to delete afterwards)."""
    if attachment.size is not None and attachment.size > ctx.max_upload_bytes:
        raise TooLarge(
            f"{attachment.name} is {attachment.size / 1e6:.0f} MB; the limit is {ctx.max_upload_bytes / 1e6:.0f} MB."
        )
    if attachment.local_path and (Path(attachment.local_path).exists() or not attachment.url):
        return UploadSource(path=Path(attachment.local_path), filename=attachment.name), None
    if ctx.fetch_attachment is None:
        raise InputError(f"I can't download {attachment.name} here; share a link to the video instead.")
    progress.update(f"downloading {attachment.name}…")
    dest = ctx.work_dir / "uploads" / f"{uuid.uuid4().hex}-{_safe_name(attachment.name)}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    path = await ctx.fetch_attachment(attachment, dest, ctx.max_upload_bytes)
    return UploadSource(path=path, filename=attachment.name), path


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._")
    return cleaned[-100:] or "video"


async def _index(ctx: AgentContext, info: VideoInfo, progress: Progress) -> str:
    """Index spoken words; the upload stands even if this fails, so say why instead of failing."""

    def report(message: str, fraction: float | None = None) -> None:
        progress.update("indexing spoken words…", fraction)

    report("indexing spoken words…")
    try:
        await ctx.session.collection.index_spoken_words(info.id, report)
    except DirectorError as exc:
        log.info("upload: indexing failed", extra={"video_id": info.id, "error": type(exc).__name__})
        return f"Its spoken words could not be indexed: {exc.user_message}"
    return "Spoken words indexed; it can be searched now."
