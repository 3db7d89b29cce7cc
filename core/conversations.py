"""The core's single entry point for adapters.

`accept` does only what must happen before a platform is answered: refuse duplicate
deliveries (event ledger), bind the channel to its collection, find or create the
thread's session, persist the input and a queued turn, and hand the turn over.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel

from core.agents.base import AttachmentFetcher
from core.delivery.port import TurnRef
from core.delivery.registry import PlatformRegistry
from core.errors import InputError
from core.incoming import ChannelKey, Incoming, ThreadKey
from core.messages import InputMessage
from core.runner.base import TurnRunner
from core.runner.executor import thread_key
from core.storage.models import ChannelRow
from core.storage.store import Store
from core.turns import TurnStatus
from core.video.backend import VideoBackend, VideoInfo

log = logging.getLogger(__name__)


class Accepted(BaseModel):
    turn: TurnRef
    new_session: bool


def collection_name(channel: ChannelKey, channel_name: str | None) -> str:
    label = channel_name or channel.channel_id
    return f"{channel.platform} #{label}"[:100]


class Conversations:
    def __init__(self, store: Store, backend: VideoBackend, runner: TurnRunner,
                 platforms: PlatformRegistry, *, owner: str | None = None) -> None:
        self._store = store
        self._backend = backend
        self._runner = runner
        self._platforms = platforms
        self._owner = owner  # this process's id: it owns the turns it accepts until a runner takes them

    # inbound ---------------------------------------------------------------------

    async def accept(self, incoming: Incoming) -> Accepted | None:
        """Store and queue a turn; None if any of its event keys was seen before.

        The event keys, the session, the turn and the deletion of the stored request it
        came from are one transaction: a crash leaves either nothing (the request is
        replayed) or the whole turn (which a live process then runs)."""
        channel = await self._bind_channel(incoming.thread.channel, incoming.channel_name)
        accepted = await self._store.accept_turn(incoming, channel.id, owner=self._owner)
        if accepted is None:
            log.info("duplicate delivery refused", extra={"keys": incoming.event_keys})
            return None
        turn, session = accepted.turn, accepted.session
        log.info("turn accepted", extra={"session": session.id, "turn": turn.id,
                                         "platform": incoming.thread.platform})
        await self._runner.submit(turn.id, session.id)
        ref = TurnRef(turn_id=turn.id, session_id=session.id, thread=incoming.thread,
                      user_id=incoming.user_id, input_text=incoming.text, output_ref=incoming.output_ref)
        return Accepted(turn=ref, new_session=accepted.new_session)

    async def _bind_channel(self, key: ChannelKey, channel_name: str | None) -> ChannelRow:
        name = collection_name(key, channel_name)

        async def create() -> str:
            info = await self._backend.create_collection(name, f"Videos of {name}")
            return info.id

        row = await self._store.channels.get_or_bind(key, self._backend.name, name, create)
        if row.backend != self._backend.name:
            # The channel was bound under another backend (e.g. local, before a VideoDB key
            # was set): give it a collection on the backend in use; the old one stays intact.
            log.warning("channel %s was bound to %s; creating a %s collection",
                        key.channel_id, row.backend, self._backend.name)
            row = await self._store.channels.rebind(key, self._backend.name, await create(), name)
        return row

    async def claim(self, keys: list[str]) -> bool:
        """Record event keys for replies that start no turn (refusals, admin commands), so
        that redeliveries and other processes answer once; False if seen before."""
        return await self._store.ledger.claim(keys)

    async def has_session(self, thread: ThreadKey) -> bool:
        return await self._store.sessions.find(thread) is not None

    # turn control ----------------------------------------------------------------------

    async def cancel(self, turn_id: str) -> bool:
        return await self._runner.cancel(turn_id)

    async def retry(self, turn_id: str) -> TurnRef | None:
        """Run a failed, interrupted or cancelled turn's input again, editing the same message."""
        turn = await self._store.turns.get(turn_id)
        if turn is None or TurnStatus(turn.status) not in (
            TurnStatus.failed, TurnStatus.interrupted, TurnStatus.cancelled
        ):
            return None
        if not await self._store.ledger.claim([f"retry:{turn_id}"]):
            return None  # pressed twice, or in two processes: one retry only
        session = await self._store.sessions.get(turn.session_id)
        assert session is not None
        old_input = await self._store.turns.load_input(turn_id)
        _, platform_ref = await self._store.turns.load_output(turn_id)
        message = InputMessage(session_id=session.id, user_id=old_input.user_id, text=old_input.text,
                               attachments=old_input.attachments)
        new_turn = await self._store.turns.create(session.id, message, retry_of=turn_id, output_ref=platform_ref,
                                                  owner=self._owner)
        await self._runner.submit(new_turn.id, session.id)
        return TurnRef(turn_id=new_turn.id, session_id=session.id, thread=thread_key(session),
                       user_id=message.user_id, input_text=message.text, output_ref=platform_ref)

    async def requester(self, turn_id: str) -> str | None:
        """Who asked for a turn (platform user id), for "only the asker or an admin" checks."""
        turn = await self._store.turns.get(turn_id)
        return turn.user_id if turn is not None and turn.user_id else None

    async def feedback(self, turn_id: str, user_id: str, rating: str) -> bool:
        """Record a person's 👍 ("good") or 👎 ("bad") on a turn's answer; False if refused."""
        if rating not in ("good", "bad") or not user_id:
            return False
        recorded = await self._store.feedback.record(turn_id, user_id, rating)  # type: ignore[arg-type]
        log.info("feedback", extra={"turn": turn_id, "rating": rating, "recorded": recorded})
        return recorded

    async def wait(self, turn_id: str) -> TurnStatus:
        return await self._runner.wait(turn_id)

    # channels and collections --------------------------------------------------------

    async def channel_binding(self, channel: ChannelKey) -> ChannelRow | None:
        return await self._store.channels.get(channel)

    async def bind_collection(self, channel: ChannelKey, collection_id: str) -> None:
        """Bind a channel to an existing collection. Admin rights are the adapter's check."""
        if await self._backend.get_collection(collection_id) is None:
            raise InputError(f"There is no collection {collection_id!r} on the {self._backend.name} backend.")
        await self._store.channels.rebind(channel, self._backend.name, collection_id)

    async def videos(self, channel: ChannelKey, limit: int = 25) -> list[VideoInfo]:
        row = await self._store.channels.get(channel)
        if row is None or row.backend != self._backend.name:
            return []
        return await self._backend.list_videos(row.collection_id, limit=limit)

    def register_fetcher(self, platform: str, fetch: AttachmentFetcher) -> None:
        self._platforms.register_fetcher(platform, fetch)

