"""Files a turn brings in live under DIRECTOR_DATA_DIR/incoming, and go when it ends.

    <data>/incoming/<turn id>/   the turn's work dir: attachments downloaded for it
                                 (a download cut short included)
    <data>/incoming/staged/      files an adapter fetched before the turn existed (a
                                 Discord attachment is fetched at once: its link expires)

When a turn ends, whatever the outcome and also when it never ran (cancelled while
queued, or interrupted by a restart, which cleans up after a killed process), its work
dir and the staged files its input names are deleted. A Retry fetches an attachment
again from its link. Nothing outside these two places is ever deleted (a console
upload names the person's own file).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from core.messages import Attachment

log = logging.getLogger(__name__)


def incoming_dir(data_dir: Path) -> Path:
    return data_dir / "incoming"


def turn_work_dir(data_dir: Path, turn_id: str) -> Path:
    return incoming_dir(data_dir) / turn_id


def staging_dir(data_dir: Path) -> Path:
    """Where adapters keep files received before their turn exists."""
    return incoming_dir(data_dir) / "staged"


async def discard_turn_files(data_dir: Path, turn_id: str, attachments: Sequence[Attachment]) -> None:
    """Delete the turn's work dir and its staged attachments; never raises."""
    await asyncio.to_thread(_discard, data_dir, turn_id, [a.local_path for a in attachments if a.local_path])


def _discard(data_dir: Path, turn_id: str, local_paths: list[str]) -> None:
    staged_root = staging_dir(data_dir).resolve()
    removed = 0
    for local in local_paths:
        path = Path(local).resolve()
        if path.is_relative_to(staged_root) and path != staged_root:
            try:
                path.unlink(missing_ok=True)
                removed += 1
            except OSError as exc:
                log.warning("could not delete a staged upload: %s", exc.strerror)
    work = turn_work_dir(data_dir, turn_id)
    if work.exists():
        shutil.rmtree(work, ignore_errors=True)
        removed += 1
    if removed:
        log.debug("removed the files of turn %s", turn_id)
