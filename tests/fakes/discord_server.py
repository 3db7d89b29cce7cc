"""A loopback fake of Discord: the REST routes the bot uses plus a gateway websocket.

The real discord.py client runs against it (point `Route.BASE` and the default
gateway at `api_url` / `gateway_url`). The fake keeps a small model of guilds,
channels, threads and messages, so tests assert on recorded state (the messages
of a thread and every edit) rather than on calls. It enforces Discord's message
limits with a 400, answers JSON with a content type of exactly
`application/json`, and can inject faults (a 429 carrying `Via`, as Discord's
does, or a 401 for an expired interaction token).

    fake = FakeDiscord(); await fake.start()
    guild = fake.add_guild("Studio"); channel = fake.add_text_channel(guild, "clips")
    interaction = await fake.slash(guild, channel, "ask", {"prompt": "hi"})
    await fake.wait_for(lambda: fake.callbacks(interaction))
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

T = TypeVar("T")
JSON_TYPE = "application/json"
API = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000
MESSAGE_CONTENT_INTENT = 1 << 15

# Permission bits the fake hands to the bot and to members.
ALL_TEXT_PERMISSIONS = (
    (1 << 10) | (1 << 11) | (1 << 38) | (1 << 35) | (1 << 34) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6)
)
MANAGE_GUILD = 1 << 5

_counter = itertools.count(1)


def snowflake() -> int:
    """A time-based id, like Discord's, so discord.py derives sane creation times."""
    now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return (now_ms << 22) | (next(_counter) % (1 << 22))


def iso_now() -> str:
    return datetime.now(timezone.utc).isoformat()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """aiohttp's json_response adds `; charset=utf-8`, which discord.py reads as text."""
    response = web.Response(status=status, body=json.dumps(data).encode(), headers=headers or {})
    response.headers["Content-Type"] = JSON_TYPE
    return response


def error(status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return json_response(body, status=status)


@dataclass
class Recorded:
    """One request the fake received (and what it answered)."""

    method: str
    path: str
    body: Any
    status: int = 0
    at: float = field(default_factory=time.monotonic)
    files: list[tuple[str, bytes]] = field(default_factory=list)


RECORD = web.RequestKey("record", Recorded)


@dataclass
class Hold:
    """Leave the next `times` requests matching `method` + `path` regex unanswered until
    the fake closes (a process stuck there, to be killed); `reached` is set when one arrives."""

    method: str
    pattern: re.Pattern[str]
    times: int
    reached: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Fault:
    """Answer the next `times` requests matching `method` + `path` regex with this."""

    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int
    after: bool = False  # the request is carried out first: only its answer is lost


# --- limits ------------------------------------------------------------------------


def message_limit_errors(payload: dict[str, Any]) -> list[str]:
    """Discord's message limits; any breach is a 400 (Invalid Form Body)."""
    problems: list[str] = []
    content = payload.get("content")
    if content is not None and len(content) > 2000:
        problems.append("content longer than 2000")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        problems.append("more than 10 embeds")
    total = 0
    for embed in embeds:
        title, description = embed.get("title") or "", embed.get("description") or ""
        if len(title) > 256:
            problems.append("embed title longer than 256")
        if len(description) > 4096:
            problems.append("embed description longer than 4096")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems.append("more than 25 fields")
        for item in fields:
            if len(item.get("name") or "") > 256 or len(item.get("value") or "") > 1024:
                problems.append("field too long")
            total += len(item.get("name") or "") + len(item.get("value") or "")
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        total += len(title) + len(description) + len(footer) + len(author)
    if total > 6000:
        problems.append("embeds longer than 6000 in total")
    rows = payload.get("components") or []
    if len(rows) > 5:
        problems.append("more than 5 action rows")
    for row in rows:
        buttons = row.get("components") or []
        if len(buttons) > 5:
            problems.append("more than 5 buttons in a row")
        for button in buttons:
            if len(button.get("label") or "") > 80:
                problems.append("button label longer than 80")
            if button.get("style") == 5 and not button.get("url"):
                problems.append("link button without url")
            if button.get("style") != 5 and not button.get("custom_id"):
                problems.append("button without custom_id")
    return problems


# --- the fake ----------------------------------------------------------------------


class FakeDiscord:
    """REST + gateway on 127.0.0.1 (port 0), with a model of Discord's state."""

    def __init__(self, *, bot_token: str = "fake-token", filesize_limit_tier: int = 0) -> None:
        self.bot_token = bot_token
        self.app_id = snowflake()
        self.bot_user: dict[str, Any] = self._user_payload(self.app_id, "Director", bot=True)
        self.premium_tier = filesize_limit_tier
        self.guilds: dict[int, dict[str, Any]] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.members: dict[tuple[int, int], dict[str, Any]] = {}
        self.nonces: dict[tuple[str, str], int] = {}  # (channel, nonce) → message id (enforce_nonce)
        self.requests: list[Recorded] = []
        self.interactions: dict[int, dict[str, Any]] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.cdn: dict[str, tuple[bytes, str]] = {}
        self.faults: list[Fault] = []
        self.holds: list[Hold] = []
        self._closing = asyncio.Event()
        self.identifies: list[dict[str, Any]] = []
        self.bot_can_manage_threads = True
        self.expired_tokens: set[str] = set()
        self._sockets: list[tuple[web.WebSocketResponse, itertools.count[int]]] = []
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        self._add_routes(app.router)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        self._closing.set()  # held requests are answered now, so the server can stop
        for ws, _ in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}{API}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # model setup ---------------------------------------------------------------------

    @staticmethod
    def _user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
        return {"id": str(user_id), "username": name, "global_name": name, "discriminator": "0",
                "avatar": None, "bot": bot, "flags": 0, "public_flags": 0}

    def add_user(self, name: str) -> int:
        user_id = snowflake()
        self.users[user_id] = self._user_payload(user_id, name)
        return user_id

    def add_guild(self, name: str = "Studio", *, owner_id: int | None = None) -> int:
        guild_id = snowflake()
        self.guilds[guild_id] = {
            "id": str(guild_id), "name": name, "owner_id": str(owner_id or snowflake()),
            "roles": [{"id": str(guild_id), "name": "@everyone", "permissions": str(1 << 10 | 1 << 11),
                       "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False,
                       "flags": 0}],
            "emojis": [], "stickers": [], "features": [], "premium_tier": self.premium_tier,
            "member_count": 2, "large": False, "unavailable": False, "joined_at": iso_now(),
        }
        self.members[(guild_id, self.app_id)] = self._member_payload(self.bot_user, [])
        return guild_id

    def add_role(self, guild_id: int, name: str, permissions: int = 0) -> int:
        role_id = snowflake()
        self.guilds[guild_id]["roles"].append(
            {"id": str(role_id), "name": name, "permissions": str(permissions), "position": 1, "color": 0,
             "hoist": False, "managed": False, "mentionable": False, "flags": 0})
        return role_id

    def add_member(self, guild_id: int, name: str, *, roles: list[int] | None = None) -> int:
        user_id = self.add_user(name)
        self.members[(guild_id, user_id)] = self._member_payload(self.users[user_id], roles or [])
        return user_id

    @staticmethod
    def _member_payload(user: dict[str, Any], roles: list[int]) -> dict[str, Any]:
        return {"user": user, "roles": [str(r) for r in roles], "joined_at": iso_now(), "deaf": False,
                "mute": False, "flags": 0, "nick": None, "pending": False}

    def add_text_channel(self, guild_id: int, name: str = "general") -> int:
        channel_id = snowflake()
        self.channels[channel_id] = {
            "id": str(channel_id), "type": 0, "guild_id": str(guild_id), "name": name, "position": 0,
            "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None,
            "last_message_id": None, "rate_limit_per_user": 0, "flags": 0,
        }
        return channel_id

    def _new_thread(self, parent_id: int, name: str, thread_id: int | None = None) -> dict[str, Any]:
        parent = self.channels[parent_id]
        thread_id = thread_id or snowflake()
        thread = {
            "id": str(thread_id), "type": 11, "guild_id": parent["guild_id"], "parent_id": str(parent_id),
            "owner_id": str(self.app_id), "name": name, "message_count": 0, "member_count": 1,
            "rate_limit_per_user": 0, "flags": 0, "last_message_id": None,
            "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                "archive_timestamp": iso_now(), "locked": False},
        }
        self.channels[thread_id] = thread
        return thread

    def add_thread(self, parent_id: int, name: str = "a thread") -> int:
        """A thread that already exists before the test (e.g. one a person opened)."""
        return int(self._new_thread(parent_id, name)["id"])

    def set_thread_state(self, thread_id: int, *, archived: bool, locked: bool = False) -> None:
        meta = self.channels[thread_id]["thread_metadata"]
        meta["archived"], meta["locked"] = archived, locked

    def add_attachment(self, channel_id: int, filename: str, data: bytes, content_type: str) -> dict[str, Any]:
        """Put a file on the fake CDN; returns the attachment payload Discord would send."""
        attachment_id = snowflake()
        path = f"/cdn/attachments/{channel_id}/{attachment_id}/{filename}"
        self.cdn[path] = (data, content_type)
        url = f"{self.base_url}{path}?ex=signed"
        return {"id": str(attachment_id), "filename": filename, "size": len(data), "url": url,
                "proxy_url": url, "content_type": content_type}

    def inject(self, method: str, path_regex: str, status: int, *, body: dict[str, Any] | None = None,
               headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next matching requests with an error (e.g. a 429)."""
        self.faults.append(Fault(method, re.compile(path_regex), status, body or {}, headers or {}, times))

    def hold(self, method: str, path_regex: str, *, times: int = 1) -> asyncio.Event:
        """Leave the next matching requests unanswered (until the fake closes); returns an
        event set as soon as one has arrived."""
        held = Hold(method, re.compile(path_regex), times)
        self.holds.append(held)
        return held.reached

    def lose_answer(self, method: str, path_regex: str, status: int = 500, *, times: int = 1) -> None:
        """Carry out the next matching requests, then answer them with an error (a lost answer)."""
        self.faults.append(Fault(method, re.compile(path_regex), status, {"message": "lost", "code": 0}, {}, times,
                                 after=True))

    def rate_limit(self, method: str, path_regex: str, retry_after: float, *, times: int = 1) -> None:
        """A per-route 429 the way Discord sends it (with `Via`, so discord.py retries)."""
        self.inject(method, path_regex, 429,
                    body={"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
                    headers={"Via": "1.1 google", "Retry-After": str(retry_after),
                             "X-RateLimit-Scope": "user", "X-RateLimit-Bucket": "edit"}, times=times)

    def expire_interaction(self, token: str) -> None:
        """The interaction's 15 minutes are over: its webhook answers 401 from now on."""
        self.expired_tokens.add(token)

    # queries -------------------------------------------------------------------------

    def messages_in(self, channel_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if m["channel_id"] == str(channel_id)]

    def threads_of(self, parent_id: int) -> list[dict[str, Any]]:
        return [c for c in self.channels.values() if c.get("parent_id") == str(parent_id) and c["type"] == 11]

    def edits_of(self, message_id: int) -> list[Recorded]:
        return [r for r in self.requests if r.method == "PATCH" and r.status == 200
                and re.fullmatch(rf"{API}/channels/\d+/messages/{message_id}", r.path)]

    def calls(self, method: str, path_regex: str) -> list[Recorded]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    def callbacks(self, interaction_id: int) -> list[Recorded]:
        return self.calls("POST", rf"{API}/interactions/{interaction_id}/[^/]+/callback")

    def original_response(self, interaction_id: int) -> dict[str, Any] | None:
        message_id = self.interactions.get(interaction_id, {}).get("original")
        return self.messages.get(message_id) if message_id else None

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 15.0) -> T:
        """Wait until `predicate()` is truthy, re-checking whenever the fake's state changes."""
        assert self._changed is not None

        async def _wait() -> T:
            assert self._changed is not None
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(_wait(), timeout)

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    # gateway: what tests send ----------------------------------------------------------

    async def wait_connected(self, timeout: float = 15.0) -> None:
        await self.wait_for(lambda: any(not ws.closed for ws, _ in self._sockets), timeout)

    def content_intent(self) -> bool:
        return bool(self.identifies) and bool(self.identifies[-1].get("intents", 0) & MESSAGE_CONTENT_INTENT)

    async def dispatch(self, event: str, data: dict[str, Any]) -> float:
        """Send a DISPATCH frame to every connected client; returns when it was sent."""
        sent_at = time.monotonic()
        for ws, seq in list(self._sockets):
            if not ws.closed:
                await ws.send_str(json.dumps({"op": 0, "t": event, "s": next(seq), "d": data}))
        return sent_at

    def _channel_for_payload(self, channel_id: int) -> dict[str, Any]:
        return dict(self.channels[channel_id])

    def _interaction_base(self, kind: int, guild_id: int, channel_id: int, user_id: int | None,
                          permissions: int) -> dict[str, Any]:
        user_id = user_id or self._default_member(guild_id)
        member = dict(self.members[(guild_id, user_id)], permissions=str(permissions))
        interaction_id = snowflake()
        token = f"itoken-{interaction_id}"
        self.interactions[interaction_id] = {"token": token, "channel_id": channel_id, "original": None,
                                             "guild_id": guild_id}
        return {
            "id": str(interaction_id), "type": kind, "token": token, "version": 1,
            "application_id": str(self.app_id), "guild_id": str(guild_id),
            "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
            "channel": self._channel_for_payload(channel_id), "channel_id": str(channel_id),
            "member": member, "app_permissions": str(ALL_TEXT_PERMISSIONS | (1 << 13) | (1 << 36)),
            "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id)}, "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }

    def _default_member(self, guild_id: int) -> int:
        for (g, user_id) in self.members:
            if g == guild_id and user_id != self.app_id:
                return user_id
        return self.add_member(guild_id, "alice")

    @staticmethod
    def _option(name: str, value: Any) -> dict[str, Any]:
        if isinstance(value, dict) and "filename" in value:  # an attachment payload
            return {"type": 11, "name": name, "value": value["id"]}
        if isinstance(value, bool):
            return {"type": 5, "name": name, "value": value}
        if isinstance(value, int):
            return {"type": 4, "name": name, "value": value}
        if isinstance(value, float):
            return {"type": 10, "name": name, "value": value}
        return {"type": 3, "name": name, "value": value}

    def slash_payload(self, guild_id: int, channel_id: int, subcommand: str, options: dict[str, Any] | None = None,
                      *, user_id: int | None = None, permissions: int = ALL_TEXT_PERMISSIONS,
                      group: str = "director", focused: str | None = None) -> dict[str, Any]:
        payload = self._interaction_base(4 if focused else 2, guild_id, channel_id, user_id, permissions)
        sub_options = []
        attachments: dict[str, Any] = {}
        for name, value in (options or {}).items():
            option = self._option(name, value)
            if name == focused:
                option = {"type": 3, "name": name, "value": str(value), "focused": True}
            if option["type"] == 11:
                attachments[value["id"]] = value
            sub_options.append(option)
        data: dict[str, Any] = {"id": str(self.app_id + 1), "name": group, "type": 1, "guild_id": str(guild_id),
                                "options": [{"type": 1, "name": subcommand, "options": sub_options}]}
        if attachments:
            data["resolved"] = {"attachments": attachments}
        payload["data"] = data
        return payload

    async def slash(self, guild_id: int, channel_id: int, subcommand: str, options: dict[str, Any] | None = None,
                    **kwargs: Any) -> int:
        """Dispatch `/director <subcommand>`; returns the interaction id."""
        payload = self.slash_payload(guild_id, channel_id, subcommand, options, **kwargs)
        await self.dispatch("INTERACTION_CREATE", payload)
        return int(payload["id"])

    async def click(self, guild_id: int, message_id: int, custom_id: str, *, user_id: int | None = None,
                    permissions: int = ALL_TEXT_PERMISSIONS) -> int:
        """Dispatch a button press on a message; returns the interaction id."""
        message = self.messages[message_id]
        payload = self._interaction_base(3, guild_id, int(message["channel_id"]), user_id, permissions)
        payload["message"] = message
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
        await self.dispatch("INTERACTION_CREATE", payload)
        return int(payload["id"])

    async def user_message(self, guild_id: int, channel_id: int, content: str, *, user_id: int | None = None,
                           mention_bot: bool = False, message_type: int = 0) -> int:
        """A person writes in a channel or thread (content hidden without the intent, as on Discord).

        `message_type` other than 0 makes a system message (4: the thread was renamed, …)."""
        user_id = user_id or self._default_member(guild_id)
        if mention_bot:
            content = f"<@{self.app_id}> {content}"
        message = self._store_message(channel_id, content=content, author=self.users[user_id])
        message["type"] = message_type
        message["mentions"] = [self.bot_user] if mention_bot else []
        event = dict(message, guild_id=str(guild_id), member={k: v for k, v in self.members[(guild_id, user_id)].items()
                                                              if k != "user"})
        if not self.content_intent() and not mention_bot:
            event.update(content="", embeds=[], attachments=[], components=[])
        await self.dispatch("MESSAGE_CREATE", event)
        return int(message["id"])

    # gateway: the socket ------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        seq = itertools.count(1)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None}))
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            op = message.get("op")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif op == 2:
                await self._identify(ws, seq, message["d"])
            elif op == 6:
                await ws.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": next(seq), "d": {}}))
        self._sockets = [(s, c) for s, c in self._sockets if s is not ws]
        return ws

    async def _identify(self, ws: web.WebSocketResponse, seq: itertools.count[int], data: dict[str, Any]) -> None:
        self.identifies.append({k: v for k, v in data.items() if k != "token"})
        ready = {
            "v": 10, "user": self.bot_user, "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
            "session_id": f"session-{snowflake()}", "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.app_id), "flags": 0}, "private_channels": [], "relationships": [],
        }
        if data.get("shard"):
            ready["shard"] = data["shard"]
        await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": next(seq), "d": ready}))
        for guild_id in self.guilds:
            await ws.send_str(json.dumps({"op": 0, "t": "GUILD_CREATE", "s": next(seq),
                                          "d": self._guild_create(guild_id)}))
        self._sockets.append((ws, seq))
        await self._notify()

    def _guild_create(self, guild_id: int) -> dict[str, Any]:
        channels = [c for c in self.channels.values() if c["guild_id"] == str(guild_id)]
        return dict(
            self.guilds[guild_id],
            channels=[c for c in channels if c["type"] != 11],
            threads=[c for c in channels if c["type"] == 11 and not c["thread_metadata"]["archived"]],
            members=[m for (g, _), m in self.members.items() if g == guild_id],
            voice_states=[], presences=[], stage_instances=[], guild_scheduled_events=[], soundboard_sounds=[],
        )

    # REST ---------------------------------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        r = router
        r.add_get("/gateway", self._gateway)
        r.add_get(API + "/gateway", self._get_gateway)
        r.add_get(API + "/gateway/bot", self._get_gateway_bot)
        r.add_get(API + "/users/@me", self._me)
        r.add_get(API + "/oauth2/applications/@me", self._application)
        r.add_get(API + "/applications/@me", self._application)
        r.add_put(API + "/applications/{app}/commands", self._sync)
        r.add_put(API + "/applications/{app}/guilds/{guild}/commands", self._sync)
        r.add_get(API + "/channels/{cid}", self._get_channel)
        r.add_patch(API + "/channels/{cid}", self._patch_channel)
        r.add_post(API + "/channels/{cid}/threads", self._create_thread)
        r.add_post(API + "/channels/{cid}/messages/{mid}/threads", self._create_thread_from_message)
        r.add_post(API + "/channels/{cid}/messages", self._post_message)
        r.add_get(API + "/channels/{cid}/messages/{mid}", self._get_message)
        r.add_patch(API + "/channels/{cid}/messages/{mid}", self._patch_message)
        r.add_post(API + "/interactions/{iid}/{token}/callback", self._callback)
        r.add_get(API + "/webhooks/{app}/{token}/messages/@original", self._get_original)
        r.add_patch(API + "/webhooks/{app}/{token}/messages/@original", self._patch_original)
        r.add_post(API + "/webhooks/{app}/{token}", self._followup)
        r.add_patch(API + "/webhooks/{app}/{token}/messages/{mid}", self._patch_followup)
        r.add_get("/cdn/{path:.*}", self._cdn)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/gateway":
            return await handler(request)
        body, files = await self._read_body(request)
        record = Recorded(request.method, request.path, body, files=files)
        request[RECORD] = record
        self.requests.append(record)
        if self._held(request):
            await self._notify()
            await self._closing.wait()
            return error(503, 0, "closing")
        response = self._fault_for(request) or self._auth_problem(request)
        if response is None:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = error(exc.status, 0, exc.reason)
            response = self._fault_for(request, after=True) or response
        record.status = response.status
        await self._notify()
        return response

    def _held(self, request: web.Request) -> bool:
        for held in self.holds:
            if held.times > 0 and held.method == request.method and held.pattern.fullmatch(request.path):
                held.times -= 1
                held.reached.set()
                return True
        return False

    def _fault_for(self, request: web.Request, after: bool = False) -> web.Response | None:
        for fault in self.faults:
            if (fault.times > 0 and fault.after == after and fault.method == request.method
                    and fault.pattern.fullmatch(request.path)):
                fault.times -= 1
                return json_response(fault.body, status=fault.status, headers=fault.headers)
        return None

    def _auth_problem(self, request: web.Request) -> web.Response | None:
        path = request.path
        if path.startswith("/cdn/") or path.startswith(API + "/interactions/") or path.startswith(API + "/webhooks/"):
            return None
        if request.headers.get("Authorization") != f"Bot {self.bot_token}":
            return error(401, 0, "401: Unauthorized")
        return None

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[tuple[str, bytes]]]:
        if not request.can_read_body:
            return None, []
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            files: list[tuple[str, bytes]] = []
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":  # type: ignore[union-attr]
                    payload = json.loads(data)
                else:
                    files.append((part.filename or "file", bytes(data)))  # type: ignore[union-attr]
            return payload, files
        text = await request.text()
        return (json.loads(text) if text else None), []

    # handlers: login, gateway, sync -------------------------------------------------------

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": {
            "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})

    async def _me(self, request: web.Request) -> web.Response:
        return json_response(self.bot_user)

    async def _application(self, request: web.Request) -> web.Response:
        return json_response({
            "id": str(self.app_id), "name": "Director", "icon": None, "description": "", "bot_public": True,
            "bot_require_code_grant": False, "verify_key": "00" * 32, "flags": 0,
            "owner": self._user_payload(snowflake(), "owner"), "team": None, "summary": "",
            "interactions_endpoint_url": None,
        })

    async def _sync(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild")
        commands = []
        for command in request[RECORD].body or []:
            commands.append(dict(command, id=str(snowflake()), application_id=str(self.app_id), version="1",
                                 guild_id=guild, default_member_permissions=command.get("default_member_permissions"),
                                 dm_permission=True, nsfw=False))
        self.commands[int(guild) if guild else None] = commands
        return json_response(commands)

    # handlers: channels and threads --------------------------------------------------------

    def _channel(self, request: web.Request) -> dict[str, Any]:
        channel = self.channels.get(int(request.match_info["cid"]))
        if channel is None:
            raise web.HTTPNotFound(reason="Unknown Channel")
        return channel

    async def _get_channel(self, request: web.Request) -> web.Response:
        return json_response(self._channel(request))

    async def _patch_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body = request[RECORD].body or {}
        meta = channel.get("thread_metadata")
        if meta is not None and ("archived" in body or "locked" in body):
            if meta["locked"] and not self.bot_can_manage_threads:
                return error(403, 50013, "Missing Permissions")
            meta["archived"] = body.get("archived", meta["archived"])
            meta["locked"] = body.get("locked", meta["locked"])
        if "name" in body:
            channel["name"] = body["name"]
        await self.dispatch("THREAD_UPDATE", channel)
        return json_response(channel)

    @staticmethod
    def _thread_name_problem(name: Any) -> web.Response | None:
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            return error(400, 50035, "Invalid Form Body", {"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH"}]}})
        return None

    async def _create_thread(self, request: web.Request) -> web.Response:
        parent = self._channel(request)
        body = request[RECORD].body or {}
        if (problem := self._thread_name_problem(body.get("name"))) is not None:
            return problem
        thread = self._new_thread(int(parent["id"]), body["name"])
        await self.dispatch("THREAD_CREATE", dict(thread, newly_created=True))
        return json_response(thread, status=201)

    async def _create_thread_from_message(self, request: web.Request) -> web.Response:
        parent = self._channel(request)
        message_id = int(request.match_info["mid"])
        body = request[RECORD].body or {}
        if (problem := self._thread_name_problem(body.get("name"))) is not None:
            return problem
        if message_id in self.channels:
            return error(400, 160004, "A thread has already been created for this message")
        thread = self._new_thread(int(parent["id"]), body["name"], thread_id=message_id)
        await self.dispatch("THREAD_CREATE", dict(thread, newly_created=True))
        return json_response(thread, status=201)

    # handlers: messages --------------------------------------------------------------------

    def _store_message(self, channel_id: int, *, content: str = "", author: dict[str, Any] | None = None,
                       message_id: int | None = None) -> dict[str, Any]:
        message_id = message_id or snowflake()
        message = {
            "id": str(message_id), "channel_id": str(channel_id), "author": author or self.bot_user,
            "content": content, "timestamp": iso_now(), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
            "components": [], "pinned": False, "type": 0, "flags": 0,
        }
        self.messages[message_id] = message
        channel = self.channels.get(channel_id)
        if channel is not None:
            channel["last_message_id"] = str(message_id)
            if channel["type"] == 11:
                channel["message_count"] += 1
        return message

    def _apply(self, message: dict[str, Any], body: dict[str, Any], files: list[tuple[str, bytes]]) -> None:
        for key in ("content", "embeds", "components", "flags"):
            if key in body and body[key] is not None:
                message[key] = body[key]
        if files or "attachments" in body:
            kept = {a.get("id") for a in body.get("attachments") or []}
            attachments = [a for a in message["attachments"] if a["id"] in kept]
            for filename, data in files:
                attachments.append(self.add_attachment(int(message["channel_id"]), filename, data,
                                                       "video/mp4" if filename.endswith(".mp4") else
                                                       "application/octet-stream"))
            message["attachments"] = attachments

    def _thread_blocked(self, channel: dict[str, Any], *, editing: bool) -> web.Response | None:
        meta = channel.get("thread_metadata")
        if meta is None or not meta["archived"]:
            return None
        if meta["locked"] or editing:
            return error(400, 50083, "Thread is archived")
        meta["archived"] = False  # sending into an archived (unlocked) thread reopens it
        return None

    async def _post_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        record: Recorded = request[RECORD]
        body = record.body or {}
        if problems := message_limit_errors(body):
            return error(400, 50035, "Invalid Form Body: " + "; ".join(problems))
        if (blocked := self._thread_blocked(channel, editing=False)) is not None:
            return blocked
        nonce = (channel["id"], str(body.get("nonce"))) if body.get("enforce_nonce") and body.get("nonce") else None
        if nonce in self.nonces:  # Discord answers a repeated nonce with the message it already made
            return json_response(self.messages[self.nonces[nonce]])
        message = self._store_message(int(channel["id"]))
        if nonce is not None:
            self.nonces[nonce] = int(message["id"])
        self._apply(message, body, record.files)
        return json_response(message)

    def _message(self, request: web.Request) -> dict[str, Any]:
        message = self.messages.get(int(request.match_info["mid"]))
        if message is None or message["channel_id"] != request.match_info["cid"]:
            raise web.HTTPNotFound(reason="Unknown Message")
        return message

    async def _get_message(self, request: web.Request) -> web.Response:
        return json_response(self._message(request))

    async def _patch_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        message = self._message(request)
        record: Recorded = request[RECORD]
        body = record.body or {}
        if problems := message_limit_errors(body):
            return error(400, 50035, "Invalid Form Body: " + "; ".join(problems))
        if (blocked := self._thread_blocked(channel, editing=True)) is not None:
            return blocked
        self._apply(message, body, record.files)
        message["edited_timestamp"] = iso_now()
        return json_response(message)

    # handlers: interactions and their webhook -------------------------------------------------

    def _interaction_by_token(self, token: str) -> tuple[int, dict[str, Any]]:
        for interaction_id, data in self.interactions.items():
            if data["token"] == token:
                return interaction_id, data
        raise web.HTTPNotFound(reason="Unknown Webhook")

    async def _callback(self, request: web.Request) -> web.Response:
        interaction_id = int(request.match_info["iid"])
        data = self.interactions.get(interaction_id)
        if data is None or data["token"] != request.match_info["token"]:
            return error(404, 10062, "Unknown interaction")
        if data.get("responded"):
            return error(400, 40060, "Interaction has already been acknowledged.")
        data["responded"] = True
        body = request[RECORD].body or {}
        kind = body.get("type")
        resource: dict[str, Any] = {"type": kind}
        if kind in (4, 5):  # a message (or "thinking") in the channel
            message = self._store_message(data["channel_id"], content=(body.get("data") or {}).get("content") or "")
            message["interaction_metadata"] = {"id": str(interaction_id), "type": 2, "user": self.bot_user}
            message["flags"] = (body.get("data") or {}).get("flags", 0) | (128 if kind == 5 else 0)
            data["original"] = int(message["id"])
            resource["message"] = message
        return json_response({
            "interaction": {"id": str(interaction_id), "type": 2, "response_message_id": str(data["original"] or ""),
                            "response_message_loading": kind == 5, "response_message_ephemeral": False},
            "resource": resource,
        })

    def _webhook_problem(self, token: str) -> web.Response | None:
        if token in self.expired_tokens:
            return error(401, 50027, "Invalid Webhook Token")
        return None

    async def _get_original(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if (problem := self._webhook_problem(token)) is not None:
            return problem
        _, data = self._interaction_by_token(token)
        return json_response(self.messages[data["original"]])

    async def _patch_original(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if (problem := self._webhook_problem(token)) is not None:
            return problem
        _, data = self._interaction_by_token(token)
        record: Recorded = request[RECORD]
        if problems := message_limit_errors(record.body or {}):
            return error(400, 50035, "Invalid Form Body: " + "; ".join(problems))
        if data["original"] is None:
            return error(404, 10008, "Unknown Message")
        message = self.messages[data["original"]]
        self._apply(message, record.body or {}, record.files)
        message["flags"] &= ~128
        return json_response(message)

    async def _followup(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if (problem := self._webhook_problem(token)) is not None:
            return problem
        _, data = self._interaction_by_token(token)
        record: Recorded = request[RECORD]
        message = self._store_message(data["channel_id"])
        self._apply(message, record.body or {}, record.files)
        return json_response(message)

    async def _patch_followup(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if (problem := self._webhook_problem(token)) is not None:
            return problem
        message = self.messages.get(int(request.match_info["mid"]))
        if message is None:
            return error(404, 10008, "Unknown Message")
        record: Recorded = request[RECORD]
        self._apply(message, record.body or {}, record.files)
        return json_response(message)

    async def _cdn(self, request: web.Request) -> web.Response:
        found = self.cdn.get(request.path)
        if found is None:
            raise web.HTTPNotFound()
        data, content_type = found
        return web.Response(body=data, content_type=content_type)
