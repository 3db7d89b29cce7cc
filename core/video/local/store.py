"""Database access for the local backend: collections, videos, transcript segments, renders.

Every video query is filtered by collection id, so a caller cannot reach another
collection's rows by knowing an id.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.storage.models import LocalCollectionRow, LocalSegmentRow, LocalStreamRow, LocalVideoRow


class LocalStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # collections -------------------------------------------------------------------
    async def add_collection(self, row: LocalCollectionRow) -> LocalCollectionRow:
        async with self._sessions.begin() as db:
            db.add(row)
        return row

    async def collection(self, collection_id: str) -> LocalCollectionRow | None:
        async with self._sessions() as db:
            return await db.get(LocalCollectionRow, collection_id)

    # videos ----------------------------------------------------------------------------
    async def videos(self, collection_id: str, limit: int | None = None) -> list[LocalVideoRow]:
        query = (select(LocalVideoRow).where(LocalVideoRow.collection_id == collection_id)
                 .order_by(LocalVideoRow.created_at.desc(), LocalVideoRow.id))
        if limit is not None:
            query = query.limit(limit)
        async with self._sessions() as db:
            return list(await db.scalars(query))

    async def count_videos(self, collection_id: str) -> int:
        async with self._sessions() as db:
            count = await db.scalar(select(func.count()).select_from(LocalVideoRow)
                                    .where(LocalVideoRow.collection_id == collection_id))
            return int(count or 0)

    async def video(self, collection_id: str, video_id: str) -> LocalVideoRow | None:
        async with self._sessions() as db:
            return await db.scalar(select(LocalVideoRow).where(
                LocalVideoRow.collection_id == collection_id, LocalVideoRow.id == video_id))

    async def video_by_content(self, collection_id: str, content_sha256: str) -> LocalVideoRow | None:
        """The video of this collection uploaded from exactly these bytes, if any."""
        async with self._sessions() as db:
            return await db.scalar(select(LocalVideoRow).where(
                LocalVideoRow.collection_id == collection_id, LocalVideoRow.content_sha256 == content_sha256)
                .order_by(LocalVideoRow.created_at).limit(1))

    async def video_by_id(self, video_id: str) -> LocalVideoRow | None:
        """Any collection: only for the public /watch page, which knows just the id."""
        async with self._sessions() as db:
            return await db.get(LocalVideoRow, video_id)

    async def add_video(self, row: LocalVideoRow) -> LocalVideoRow:
        async with self._sessions.begin() as db:
            db.add(row)
        return row

    async def delete_video(self, collection_id: str, video_id: str) -> None:
        async with self._sessions.begin() as db:
            await db.execute(delete(LocalSegmentRow).where(LocalSegmentRow.video_id == video_id))
            await db.execute(delete(LocalVideoRow).where(
                LocalVideoRow.collection_id == collection_id, LocalVideoRow.id == video_id))

    # transcripts -----------------------------------------------------------------------
    async def replace_segments(self, video_id: str, segments: Sequence[LocalSegmentRow]) -> None:
        """Swap a video's transcript in one transaction and mark it indexed."""
        async with self._sessions.begin() as db:
            await db.execute(delete(LocalSegmentRow).where(LocalSegmentRow.video_id == video_id))
            db.add_all(segments)
            await db.execute(update(LocalVideoRow).where(LocalVideoRow.id == video_id).values(indexed=True))

    async def segments(self, video_id: str) -> list[LocalSegmentRow]:
        async with self._sessions() as db:
            return list(await db.scalars(select(LocalSegmentRow).where(LocalSegmentRow.video_id == video_id)
                                         .order_by(LocalSegmentRow.idx)))

    async def indexed_videos(self, collection_id: str) -> dict[str, str]:
        """{video id: name} of the collection's videos whose spoken words are indexed."""
        async with self._sessions() as db:
            rows = await db.execute(select(LocalVideoRow.id, LocalVideoRow.name).where(
                LocalVideoRow.collection_id == collection_id, LocalVideoRow.indexed.is_(True)))
            return {video_id: name for video_id, name in rows}

    # renders ---------------------------------------------------------------------------
    async def stream(self, stream_id: str) -> LocalStreamRow | None:
        async with self._sessions() as db:
            return await db.get(LocalStreamRow, stream_id)

    async def add_stream(self, row: LocalStreamRow) -> LocalStreamRow:
        """Store a render; if an identical one landed first, keep and return that one."""
        try:
            async with self._sessions.begin() as db:
                db.add(row)
            return row
        except IntegrityError:
            existing = await self.stream(row.id)
            if existing is None:
                raise
            return existing

    async def streams_of_video(self, collection_id: str, video_id: str) -> list[LocalStreamRow]:
        """The renders (clips, compilations) cut from this video."""
        async with self._sessions() as db:
            rows = (await db.execute(select(LocalStreamRow).where(
                LocalStreamRow.collection_id == collection_id))).scalars().all()
        return [row for row in rows if any(piece[0] == video_id for piece in (row.spec or {}).get("pieces", []))]

    async def delete_stream(self, stream_id: str) -> None:
        async with self._sessions.begin() as db:
            await db.execute(delete(LocalStreamRow).where(LocalStreamRow.id == stream_id))
