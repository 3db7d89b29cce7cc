"""Where the local backend keeps files, and how their public links are built.

    <data_dir>/media/<collection>/<video>.mp4            uploaded originals
    <data_dir>/media/<collection>/<video>.jpg            pictures (a frame at ~1 s; an audio item's cover or waveform)
    <data_dir>/media/<collection>/<video>.play.mp4       browser-playable copy, when the original isn't one
    <data_dir>/media/<collection>/streams/<stream>.mp4   clips and compilations
    <data_dir>/media/<collection>/frames/<video>-<ms>.jpg  frames
    <data_dir>/index/<collection>.sqlite                 spoken-word search index (words and meaning)
    <data_dir>/tmp/<random>/                             work in progress (removed after)

Only `<data_dir>/media` is served (at /media/...), so the database and work files
under the data directory never are. The database stores paths relative to the data
directory; absolute links are built when returned, from the media server's base URL,
and signed so they expire (see `links.py`).
"""

from __future__ import annotations

import re
from pathlib import Path

from core.video.local.links import LinkSigner

_ID = re.compile(r"^[0-9a-f]{32}$")


class Layout:
    def __init__(self, data_dir: Path, links: LinkSigner | None = None) -> None:
        self.data_dir = data_dir
        self.links = links or LinkSigner()
        self.media_root = data_dir / "media"
        self.tmp_root = data_dir / "tmp"
        self.index_root = data_dir / "index"

    def collection_dir(self, collection_id: str) -> Path:
        return self.media_root / _checked(collection_id)

    def video_file(self, collection_id: str, video_id: str, suffix: str) -> Path:
        return self.collection_dir(collection_id) / f"{_checked(video_id)}{suffix}"

    def playable_file(self, collection_id: str, video_id: str) -> Path:
        return self.collection_dir(collection_id) / f"{_checked(video_id)}.play.mp4"

    def thumbnail(self, collection_id: str, video_id: str) -> Path:
        return self.collection_dir(collection_id) / f"{_checked(video_id)}.jpg"

    def stream_file(self, collection_id: str, stream_id: str) -> Path:
        return self.collection_dir(collection_id) / "streams" / f"{_checked(stream_id)}.mp4"

    def frame_file(self, collection_id: str, video_id: str, at: float) -> Path:
        return self.collection_dir(collection_id) / "frames" / f"{_checked(video_id)}-{round(at * 1000)}.jpg"

    def index_file(self, collection_id: str) -> Path:
        return self.index_root / f"{_checked(collection_id)}.sqlite"

    def relative(self, path: Path) -> str:
        """The path stored in the database (relative to the data directory)."""
        return path.relative_to(self.data_dir).as_posix()

    def absolute(self, stored: str) -> Path:
        return self.data_dir / stored

    def media_url(self, base_url: str, path: Path, expires: int | None = None) -> str:
        return self.links.sign(base_url, f"/media/{path.relative_to(self.media_root).as_posix()}", expires)

    def watch_url(self, base_url: str, item_id: str, expires: int | None = None) -> str:
        return self.links.sign(base_url, f"/watch/{item_id}", expires)


def is_id(value: str) -> bool:
    return bool(_ID.match(value))


def _checked(value: str) -> str:
    """Ids become file names: only our own 32-hex ids are allowed (no path tricks)."""
    if not is_id(value):
        raise ValueError(f"not a local backend id: {value!r}")
    return value
