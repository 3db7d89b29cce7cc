"""A loopback fake of the Slack Web API (and Socket Mode), for the real slack_sdk.

Serves `POST /api/<method>` on 127.0.0.1 with a port the OS picks, keeps a model
of what a workspace would show (messages posted and edited per channel and ts,
reactions, uploaded files), logs every request, and can be scripted to answer 429
(with Retry-After), 500 or `{ok: false, error}`. It also serves private file
downloads with a bearer-token check (an HTML login page when the token lacks
`files:read`, as Slack does) and a Socket Mode websocket at `/link`.

Tests assert on the recorded state (`fake.thread(channel, ts)`) and await it with
`fake.wait_until(predicate)`, never with sleeps.

Streaming (`chat.startStream` / `appendStream` / `stopStream`) follows Slack's documented
rules: a reply (`thread_ts`), with `recipient_user_id` and `recipient_team_id` in channels,
`markdown_text` up to 12,000 characters a call, chunks recorded in order
(`FakeMessage.chunks`). `no_stream_channels` answer `method_not_supported_for_channel_type`;
`press_stop` is the person pressing Stop (the next append answers `stopped_by_user`); a
stream older than `stream_ttl` seconds on `fake.clock` has expired
(`message_not_in_streaming_state`). `assistant.threads.setStatus` calls land in `statuses`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
SIGNING_SECRET = "test-signing-secret"
TEAM_ID = "T0001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
ALL_SCOPES = frozenset(
    {"app_mentions:read", "chat:write", "assistant:write", "channels:history", "groups:history", "files:read",
     "files:write", "reactions:write", "users:read"}
)
LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"


@dataclass
class FakeMessage:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    thread_ts: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    versions: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    streaming: bool = False  # an open chat.startStream message
    stream_started: float = 0.0
    stop_pressed: bool = False
    chunks: list[dict[str, Any]] = field(default_factory=list)  # every chunk streamed, in order

    def tasks(self) -> dict[str, dict[str, Any]]:
        """The latest `task_update` of each task id, in first-seen order."""
        latest: dict[str, dict[str, Any]] = {}
        for chunk in self.chunks:
            if chunk.get("type") == "task_update":
                latest[chunk["id"]] = {**latest.get(chunk["id"], {}), **chunk}
        return latest

    def task_statuses(self, task_id: str) -> list[str]:
        """The statuses a task went through, repeats folded."""
        seen: list[str] = []
        for chunk in self.chunks:
            if chunk.get("type") == "task_update" and chunk.get("id") == task_id:
                if not seen or seen[-1] != chunk.get("status"):
                    seen.append(chunk.get("status", ""))
        return seen

    @property
    def edits(self) -> int:
        return len(self.versions) - 1

    def button_urls(self) -> list[str]:
        urls = []
        for block in self.blocks:
            for element in block.get("elements", []):
                if element.get("type") == "button" and element.get("url"):
                    urls.append(element["url"])
        return urls

    def button(self, action_id: str) -> dict[str, Any] | None:
        for block in self.blocks:
            for element in block.get("elements", []):
                if element.get("action_id") == action_id:
                    return element
        return None

    def all_text(self) -> str:
        """The text fallback plus every text in the blocks, for assertions."""
        parts = [self.text]

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("text"), str):
                    parts.append(node["text"])
                for value in node.values():
                    if isinstance(value, (dict, list)):
                        walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self.blocks)
        return "\n".join(parts)


@dataclass
class Recorded:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float
    status: int
    ok: bool = True


@dataclass
class Scripted:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    hang: bool = False  # never answer (until the fake closes)
    lost: bool = False  # carry the call out, then answer `status`: the answer is lost


@dataclass
class FakeFile:
    id: str
    name: str
    mimetype: str
    data: bytes


class FakeSlack:
    """The fake workspace and its Web API server."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.messages: dict[tuple[str, str], FakeMessage] = {}
        self.reactions: list[tuple[str, str, str]] = []  # (channel, ts, name)
        self.uploads: dict[str, bytes] = {}  # file id -> bytes uploaded by the bot
        self.files: dict[str, FakeFile] = {}  # files users "attached"
        self.downloads: list[tuple[str, str | None]] = []  # (file id, token)
        self.users: dict[str, dict[str, Any]] = {}
        self.ephemeral: list[dict[str, Any]] = []  # chat.postEphemeral calls: channel, user, text
        self.token_scopes: dict[str, set[str]] = {BOT_TOKEN: set(ALL_SCOPES), APP_TOKEN: {"connections:write"}}
        self.socket_acks: list[dict[str, Any]] = []
        # Set to an unset Event: downloads send half the file, then wait for it (a stalled download).
        self.stall_downloads: asyncio.Event | None = None
        self._scripts: dict[str, list[Scripted]] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self.latency = 0.0  # seconds every Web API call takes (benchmarks)
        self._sockets: list[web.WebSocketResponse] = []
        self.no_stream_channels: set[str] = set()
        self.stream_ttl = 300.0  # seconds a stream stays open (Slack: about 5 minutes)
        self.clock: Callable[[], float] = time.monotonic
        self.statuses: list[dict[str, Any]] = []  # assistant.threads.setStatus calls
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> "FakeSlack":
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{file_id}/{name}", self._download)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        self._closing.set()
        if self.stall_downloads is not None:
            self.stall_downloads.set()
        for ws in list(self._sockets):
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # --- scripting ------------------------------------------------------------------

    def script(self, method: str, *answers: Scripted) -> None:
        """The next calls of `method` get these answers, in order, then normal ones."""
        self._scripts.setdefault(method, []).extend(answers)

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        self.script(method, *[Scripted(status=429, retry_after=retry_after) for _ in range(times)])

    def fail(self, method: str, error: str, times: int = 1) -> None:
        self.script(method, *[Scripted(error=error) for _ in range(times)])

    def add_user(self, user_id: str, *, is_admin: bool = False, is_owner: bool = False) -> None:
        self.users[user_id] = {"id": user_id, "name": user_id.lower(), "is_admin": is_admin, "is_owner": is_owner}

    def add_file(self, name: str, data: bytes, mimetype: str = "video/mp4") -> dict[str, Any]:
        """A file as a user attached it; returns its `event.files[]` entry."""
        file_id = f"F{next(self._ids):06d}"
        self.files[file_id] = FakeFile(file_id, name, mimetype, data)
        url = f"{self.base_url}/files-pri/{file_id}/{name}"
        return {"id": file_id, "name": name, "title": name, "mimetype": mimetype, "filetype": name.rsplit(".", 1)[-1],
                "size": len(data), "url_private": url, "url_private_download": url + "?download=1"}

    # --- the model --------------------------------------------------------------------

    def posted(self, method: str = "chat.postMessage") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.ok]

    def calls(self, method: str) -> int:
        return sum(1 for r in self.requests if r.method == method)

    def thread(self, channel: str, thread_ts: str) -> list[FakeMessage]:
        """Messages the bot posted in a thread, oldest first."""
        found = [m for m in self.messages.values() if m.channel == channel and m.thread_ts == thread_ts]
        return sorted(found, key=lambda m: float(m.ts))

    def bot_messages(self, channel: str | None = None) -> list[FakeMessage]:
        found = [m for m in self.messages.values() if channel is None or m.channel == channel]
        return sorted(found, key=lambda m: float(m.ts))

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
        """Wait until the recorded state satisfies `predicate`; return its value."""

        async def waiter() -> Any:
            async with self._changed:
                while not (value := predicate()):
                    await self._changed.wait()
                return value

        return await asyncio.wait_for(waiter(), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.{next(self._ids):06d}"

    # --- Web API ------------------------------------------------------------------------

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json":
                params.update(json.loads(raw or b"{}"))
            elif request.content_type == "multipart/form-data":
                pass
            else:
                params.update(dict(parse_qsl(raw.decode())))
        for key in ("blocks", "files", "metadata", "chunks", "loading_messages"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    @staticmethod
    def _token(request: web.Request, params: dict[str, Any]) -> str | None:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[7:]
        return params.get("token")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        token = self._token(request, params)
        scripted = self._scripts.get(method, [])
        answer = scripted.pop(0) if scripted else None
        if answer and answer.delay:
            await asyncio.sleep(answer.delay)
        if answer and answer.hang:
            await self._closing.wait()
            return web.Response(status=503)
        if answer and answer.lost:
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is not None:
                handler(params, token)
            return await self._record(method, params, token, answer.status, {"ok": False, "error": "fatal_error"})
        if answer and answer.status != 200:
            return await self._record(method, params, token, answer.status, {"ok": False, "error": "ratelimited"},
                                      {"Retry-After": str(answer.retry_after)} if answer.retry_after is not None else None)
        if answer and answer.error:
            return await self._record(method, params, token, 200, {"ok": False, "error": answer.error})
        if token not in self.token_scopes:
            return await self._record(method, params, token, 200, {"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        body = handler(params, token) if handler else {"ok": True}
        return await self._record(method, params, token, 200, body)

    async def _record(self, method: str, params: dict[str, Any], token: str | None, status: int,
                      body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
        self.requests.append(Recorded(method, params, token, time.monotonic(), status, bool(body.get("ok"))))
        await self._notify()
        return web.json_response(body, status=status, headers=headers)

    def _missing(self, token: str | None, scope: str) -> dict[str, Any] | None:
        if scope not in self.token_scopes.get(token or "", set()):
            return {"ok": False, "error": "missing_scope", "needed": scope}
        return None

    def _m_auth_test(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake.slack.test/", "team": "Fake", "user": "director",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID}

    def _m_chat_postMessage(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        ts = self._next_ts()
        blocks = params.get("blocks") or []
        message = FakeMessage(channel=channel, ts=ts, text=params.get("text", ""), blocks=blocks, user=BOT_USER_ID,
                              thread_ts=params.get("thread_ts"), metadata=params.get("metadata"))
        message.versions.append((message.text, blocks))
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": message.text, "ts": ts}}

    def _m_chat_postEphemeral(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not params.get("channel") or not params.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        self.ephemeral.append({k: params.get(k) for k in ("channel", "user", "text", "thread_ts")})
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_update(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        message = self.messages.get((params.get("channel", ""), params.get("ts", "")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.streaming = False  # an update ends a stream (what is shown is the update)
        message.text = params.get("text", message.text)
        message.blocks = params.get("blocks") if "blocks" in params else []
        message.versions.append((message.text, message.blocks))
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}

    # --- streaming ----------------------------------------------------------------------

    def press_stop(self, channel: str, ts: str) -> None:
        """The person pressed Stop on a streaming reply."""
        self.messages[(channel, ts)].stop_pressed = True

    def _stream_text(self, message: FakeMessage, params: dict[str, Any]) -> dict[str, Any] | None:
        """Record markdown_text and chunks; an error answer if Slack would refuse them."""
        text = params.get("markdown_text")
        chunks = params.get("chunks") or []
        if text is not None and len(text) > 12_000:
            return {"ok": False, "error": "msg_too_long"}
        if any(len(c.get("text", "")) > 12_000 for c in chunks if c.get("type") == "markdown_text"):
            return {"ok": False, "error": "msg_too_long"}
        if text:
            chunks = [{"type": "markdown_text", "text": text}, *chunks]
        for chunk in chunks:
            if chunk.get("type") == "task_update" and chunk.get("status") not in (
                    "pending", "in_progress", "complete", "error"):
                return {"ok": False, "error": "invalid_chunks"}
        message.chunks.extend(chunks)
        message.text += "".join(c.get("text", "") for c in chunks if c.get("type") == "markdown_text")
        return None

    def _open_stream(self, params: dict[str, Any]) -> FakeMessage | dict[str, Any]:
        message = self.messages.get((params.get("channel", ""), params.get("ts", "")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.streaming and message.stop_pressed:
            message.streaming = False
            return {"ok": False, "error": "stopped_by_user"}
        if message.streaming and self.clock() - message.stream_started > self.stream_ttl:
            message.streaming = False
        if not message.streaming:
            return {"ok": False, "error": "message_not_in_streaming_state"}
        return message

    def _m_chat_startStream(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        channel = params.get("channel", "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.no_stream_channels:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        if not params.get("thread_ts"):
            return {"ok": False, "error": "invalid_arguments"}
        if channel[0] in "CG" and not (params.get("recipient_user_id") and params.get("recipient_team_id")):
            return {"ok": False, "error": "invalid_arguments"}
        ts = self._next_ts()
        message = FakeMessage(channel=channel, ts=ts, text="", blocks=[], user=BOT_USER_ID,
                              thread_ts=params["thread_ts"], streaming=True, stream_started=self.clock())
        if error := self._stream_text(message, params):
            return error
        message.versions.append((message.text, []))
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts}

    def _m_chat_appendStream(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        message = self._open_stream(params)
        if isinstance(message, dict):
            return message
        if error := self._stream_text(message, params):
            return error
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _m_chat_stopStream(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        message = self._open_stream(params)
        if isinstance(message, dict):
            return message
        blocks = params.get("blocks") or []
        if len(blocks) > 50:
            return {"ok": False, "error": "invalid_blocks"}
        if error := self._stream_text(message, params):
            return error
        message.streaming = False
        message.blocks = blocks
        message.metadata = params.get("metadata")
        message.versions.append((message.text, blocks))
        return {"ok": True, "channel": message.channel, "ts": message.ts,
                "message": {"text": message.text, "ts": message.ts}}

    def _m_assistant_threads_setStatus(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not params.get("channel_id") or not params.get("thread_ts") or "status" not in params:
            return {"ok": False, "error": "invalid_arguments"}
        self.statuses.append({k: params.get(k) for k in ("channel_id", "thread_ts", "status", "loading_messages")})
        return {"ok": True}

    def _m_reactions_add(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if missing := self._missing(token, "reactions:write"):
            return missing
        self.reactions.append((params.get("channel", ""), params.get("timestamp", ""), params.get("name", "")))
        return {"ok": True}

    def _m_users_info(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if missing := self._missing(token, "users:read"):
            return missing
        user = self.users.get(params.get("user", ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _m_files_getUploadURLExternal(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if missing := self._missing(token, "files:write"):
            return missing
        file_id = f"F{next(self._ids):06d}"
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}

    def _m_files_completeUploadExternal(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        files = []
        for item in params.get("files", []):
            if item["id"] not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            files.append({"id": item["id"], "title": item.get("title"), "size": len(self.uploads[item["id"]])})
        channel = params.get("channel_id") or params.get("channel")
        if channel:
            ts = self._next_ts()
            message = FakeMessage(channel=channel, ts=ts, text=params.get("initial_comment", ""), blocks=[],
                                  user=BOT_USER_ID, thread_ts=params.get("thread_ts"), files=files)
            message.versions.append((message.text, []))
            self.messages[(channel, ts)] = message
        return {"ok": True, "files": files}

    def _m_apps_connections_open(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not (token or "").startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}

    # --- files ------------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        await self._notify()
        return web.Response(text="OK - uploaded")

    async def _download(self, request: web.Request) -> web.StreamResponse:
        file = self.files.get(request.match_info["file_id"])
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        self.downloads.append((request.match_info["file_id"], token))
        await self._notify()
        if file is None:
            return web.Response(status=404)
        if "files:read" not in self.token_scopes.get(token or "", set()):
            return web.Response(text=LOGIN_PAGE, content_type="text/html")
        if self.stall_downloads is None:
            return web.Response(body=file.data, content_type=file.mimetype)
        response = web.StreamResponse(headers={"Content-Type": file.mimetype, "Content-Length": str(len(file.data))})
        await response.prepare(request)
        await response.write(file.data[: len(file.data) // 2])
        await self._notify()
        await self.stall_downloads.wait()
        await response.write(file.data[len(file.data) // 2:])
        return response

    # --- Socket Mode ------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        await self._notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.socket_acks.append(json.loads(msg.data))
                    await self._notify()
        finally:
            self._sockets.remove(ws)
        return ws

    @property
    def socket_connected(self) -> bool:
        return bool(self._sockets)

    async def push_envelope(self, payload: dict[str, Any], kind: str = "events_api", retry_attempt: int = 0) -> str:
        """Send one Socket Mode envelope to every connected client; returns its id."""
        envelope_id = f"env-{next(self._ids)}"
        envelope = {"envelope_id": envelope_id, "payload": payload, "type": kind, "accepts_response_payload": False,
                    "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else ""}
        for ws in list(self._sockets):
            await ws.send_str(json.dumps(envelope))
        return envelope_id


# --- building signed events ---------------------------------------------------------


def sign(body: bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """The headers Slack sends: X-Slack-Request-Timestamp and the v0 signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


_event_ids = itertools.count(1)
_message_ts = itertools.count(1)


def message_ts() -> str:
    return f"{1_600_000_000 + next(_message_ts)}.000100"


def event_body(event: dict[str, Any], *, team: str = TEAM_ID, event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy", "team_id": team, "api_app_id": "A0001", "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):08d}", "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": team, "user_id": BOT_USER_ID, "is_bot": True}],
    }


def mention(channel: str, text: str, *, user: str = "U0USER", ts: str | None = None, thread_ts: str | None = None,
            files: list[dict[str, Any]] | None = None, team: str = TEAM_ID, kind: str = "app_mention") -> dict[str, Any]:
    """An `app_mention` event (kind="message" gives the twin `message` event)."""
    event: dict[str, Any] = {"type": kind, "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts or message_ts(),
                             "channel": channel, "team": team, "event_ts": ts or "", "channel_type": "channel"}
    event["event_ts"] = event["ts"]
    if thread_ts:
        event["thread_ts"] = thread_ts
    if files:
        event["files"] = files
    return event


def message(channel: str, text: str, *, thread_ts: str | None, user: str = "U0USER", ts: str | None = None,
            team: str = TEAM_ID, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": ts or message_ts(),
                             "channel": channel, "team": team, "channel_type": "channel", **extra}
    event["event_ts"] = event["ts"]
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def block_action(action_id: str, value: str, *, channel: str, message_ts_: str, user: str = "U0USER",
                 team: str = TEAM_ID) -> dict[str, Any]:
    return {
        "type": "block_actions", "team": {"id": team, "domain": "fake"}, "user": {"id": user, "team_id": team},
        "api_app_id": "A0001", "token": "legacy", "trigger_id": "1.2.3",
        "container": {"type": "message", "message_ts": message_ts_, "channel_id": channel},
        "channel": {"id": channel, "name": channel}, "message": {"ts": message_ts_, "type": "message"},
        "actions": [{"action_id": action_id, "block_id": "director_controls", "value": value, "type": "button",
                     "action_ts": str(time.time())}],
    }


async def _serve_forever(port: int) -> None:
    """`python -m tests.fakes.slack_api --port 8900`: the fake on a fixed port, for
    trying `director-bot slack --http` by hand (see the README's Slack section)."""
    import logging

    fake = FakeSlack()
    app = web.Application()
    for method, path, handler in (("POST", "/api/{method}", fake._api), ("POST", "/upload/{file_id}", fake._upload),
                                  ("GET", "/files-pri/{file_id}/{name}", fake._download)):
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    fake.port = port
    logging.getLogger(__name__).warning("fake Slack Web API at %s (bot token %s)", fake.api_url, BOT_TOKEN)
    seen = 0
    while True:
        async with fake._changed:
            await fake._changed.wait()
        for record in fake.requests[seen:]:
            print(f"{record.method} {json.dumps(record.params, ensure_ascii=False)[:300]}", flush=True)
        seen = len(fake.requests)


if __name__ == "__main__":
    import argparse
    import logging

    parser = argparse.ArgumentParser(description="Run the fake Slack Web API on loopback.")
    parser.add_argument("--port", type=int, default=8900)
    logging.basicConfig(level=logging.WARNING)
    try:
        asyncio.run(_serve_forever(parser.parse_args().port))
    except KeyboardInterrupt:
        pass
