"""A loopback emulator of the VideoDB REST API, for the real `videodb` SDK.

Runs a stdlib `ThreadingHTTPServer` on 127.0.0.1 with a port the OS picks, so the
blocking SDK (called from worker threads) talks to it like to api.videodb.io. It
keeps collections, videos, spoken-word indexes and transcripts in memory, answers
with the `{"success": true, "data": ...}` envelope, and makes every URL it returns
(output_url, upload_url, stream_url, player_url) point at itself.

Long jobs (upload, index, dub, generate video, scene index) answer "processing"
with an output_url; polling it gives `processing_polls` percentages, then the result.
Tests can script failures (`fail`; `fail_after`: carry the request out, then answer an
error, as when an answer is lost; `fail_job`), hold a route (`hold`) and read every
request (`requests`, `requests_to`).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, dict[str, Any], dict[str, str]]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    thread: str


@dataclass
class ScriptedFailure:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    message: str
    retry_after: str | None
    after: bool = False  # the request is carried out first; only the answer fails


@dataclass
class Hold:
    """Keeps a matching request waiting until `release` is set."""

    method: str
    pattern: re.Pattern[str]
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    on_enter: Callable[[], None] | None = None


@dataclass
class Job:
    polls_left: int
    outcome: dict[str, Any]
    total: int


def ok(data: Any) -> Reply:
    return 200, {"success": True, "data": data}, {}


def error(status: int, message: str) -> Reply:
    return status, {"success": False, "message": message}, {}


class VideoDBEmulator:
    """In-memory VideoDB. `base_url` is what `videodb.connect(base_url=...)` needs."""

    def __init__(self, api_key: str = "sk-test-key", processing_polls: int = 2) -> None:
        self.api_key = api_key
        self.processing_polls = processing_polls
        self.collections: dict[str, dict[str, Any]] = {
            "default": {"id": "default", "name": "Default", "description": "", "is_public": False}
        }
        self.videos: dict[str, dict[str, Any]] = {}
        self.indexed: set[str] = set()
        self.transcripts: dict[str, list[dict[str, Any]]] = {}
        self.blobs: dict[str, int] = {}
        self.requests: list[RecordedRequest] = []
        self.upload_length = 60.0
        self._jobs: dict[str, Job] = {}
        self._failures: list[ScriptedFailure] = []
        self._job_failures: list[tuple[re.Pattern[str], str]] = []
        self._holds: list[Hold] = []
        self._clock = 1_700_000_000
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        emulator = self

        class Handler(_Handler):
            owner = emulator

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="videodb-emulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        for hold in self._holds:
            hold.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # seeding and scripting ---------------------------------------------------------------
    def add_collection(self, name: str, description: str = "") -> str:
        cid = f"c-{uuid.uuid4().hex[:8]}"
        self.collections[cid] = {"id": cid, "name": name, "description": description, "is_public": False}
        return cid

    def add_video(
        self,
        collection_id: str = "default",
        name: str = "video",
        length: float = 60.0,
        transcript: list[tuple[float, float, str]] | None = None,
        indexed: bool = False,
    ) -> str:
        """Seed a video; `transcript` is (start, end, sentence) triples."""
        video = self._new_video(collection_id, name, length)
        if transcript is not None:
            self.transcripts[video["id"]] = [{"start": s, "end": e, "text": t} for s, e, t in transcript]
        if indexed:
            self.indexed.add(video["id"])
        return str(video["id"])

    def fail(self, method: str, path_regex: str, status: int, times: int = 1,
             message: str = "scripted failure", retry_after: str | None = None) -> None:
        """The next `times` requests matching method + path get `status`."""
        self._failures.append(ScriptedFailure(method.upper(), re.compile(path_regex), status, times,
                                              message, retry_after))

    def fail_after(self, method: str, path_regex: str, status: int, times: int = 1,
                   message: str = "scripted failure after the work was done") -> None:
        """The next `times` matching requests are carried out, then answered with `status`."""
        self._failures.append(ScriptedFailure(method.upper(), re.compile(path_regex), status, times, message,
                                              None, after=True))

    def fail_job(self, path_regex: str, message: str) -> None:
        """The next job started on a matching route ends with status failed."""
        self._job_failures.append((re.compile(path_regex), message))

    def hold(self, method: str, path_regex: str, on_enter: Callable[[], None] | None = None) -> Hold:
        """Keep matching requests waiting until the returned hold's `release` is set."""
        hold = Hold(method.upper(), re.compile(path_regex), on_enter=on_enter)
        self._holds.append(hold)
        return hold

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method.upper() and pattern.fullmatch(r.path)]

    # internals ----------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _new_video(self, collection_id: str, name: str, length: float) -> dict[str, Any]:
        with self._lock:
            self._clock += 1
            vid = f"m-{uuid.uuid4().hex[:12]}"
            video = {
                "id": vid,
                "collection_id": collection_id,
                "name": name,
                "description": None,
                "length": length,
                "stream_url": self.url(f"stream/{vid}.m3u8"),
                "player_url": self.url(f"watch?v={vid}"),
                "thumbnail_url": self.url(f"thumb/{vid}.jpg"),
                "created_at": _iso(self._clock),
            }
            self.videos[vid] = video
            return video

    def _job(self, path: str, result: Any, on_done: Callable[[], None] | None = None) -> Reply:
        """Start a long job; its result is served via output_url polling."""
        outcome: dict[str, Any] = {"success": True, "status": "done", "data": result}
        with self._lock:
            for i, (pattern, message) in enumerate(self._job_failures):
                if pattern.fullmatch(path):
                    del self._job_failures[i]
                    outcome = {"success": False, "status": "failed", "message": message}
                    break
        if on_done is not None and outcome["success"]:
            on_done()
        job_id = uuid.uuid4().hex[:10]
        self._jobs[job_id] = Job(self.processing_polls, outcome, self.processing_polls)
        body = {"success": True, "status": "processing", "request_type": "sync",
                "data": {"id": job_id, "output_url": self.url(f"async-response/{job_id}")}}
        return 200, body, {}

    def poll(self, job_id: str) -> Reply:
        job = self._jobs.get(job_id)
        if job is None:
            return error(404, f"no job {job_id}")
        with self._lock:
            if job.polls_left > 0:
                job.polls_left -= 1
                done = job.total - job.polls_left
                percentage = int(100 * done / (job.total + 1))
                return 200, {"success": True, "status": "processing", "data": {"percentage": percentage}}, {}
        return 200, job.outcome, {}

    def _scripted(self, method: str, path: str, after: bool = False) -> Reply | None:
        with self._lock:
            for failure in self._failures:
                if (failure.times > 0 and failure.after == after and failure.method == method
                        and failure.pattern.fullmatch(path)):
                    failure.times -= 1
                    headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
                    return failure.status, {"success": False, "message": failure.message}, headers
        return None

    def _hold(self, method: str, path: str) -> None:
        for hold in self._holds:
            if hold.method == method and hold.pattern.fullmatch(path) and not hold.release.is_set():
                hold.entered.set()
                if hold.on_enter is not None:
                    hold.on_enter()
                hold.release.wait(timeout=30)

    def handle(self, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]) -> Reply:
        self.requests.append(RecordedRequest(method, path, query, body, headers, threading.current_thread().name))
        if not path.startswith("blob/") and headers.get("x-access-token") != self.api_key:
            return error(401, "Invalid API key")
        scripted = self._scripted(method, path)
        if scripted is not None:
            return scripted
        self._hold(method, path)
        for route_method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(path)
            if route_method == method and match:
                reply = handler(self, query, body, *match.groups())
                return self._scripted(method, path, after=True) or reply
        return error(404, f"no route {method} /{path}")


# route handlers ------------------------------------------------------------------------------
def _iso(ts: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).isoformat()


def _video_in(emu: VideoDBEmulator, vid: str, query: dict[str, str]) -> dict[str, Any] | None:
    video = emu.videos.get(vid)
    if video is None:
        return None
    if "collection_id" in query and video["collection_id"] != query["collection_id"]:
        return None
    return video


def _get_collection(emu: VideoDBEmulator, query: dict[str, str], body: Any, cid: str) -> Reply:
    coll = emu.collections.get(cid)
    return ok(coll) if coll else error(404, f"Collection {cid} not found")


def _list_collections(emu: VideoDBEmulator, query: dict[str, str], body: Any) -> Reply:
    return ok({"collections": list(emu.collections.values()), "default_collection": "default"})


def _create_collection(emu: VideoDBEmulator, query: dict[str, str], body: Any) -> Reply:
    cid = emu.add_collection(body.get("name", ""), body.get("description", ""))
    return ok(emu.collections[cid])


def _list_videos(emu: VideoDBEmulator, query: dict[str, str], body: Any) -> Reply:
    cid = query.get("collection_id", "default")
    return ok({"videos": [v for v in emu.videos.values() if v["collection_id"] == cid]})


def _get_video(emu: VideoDBEmulator, query: dict[str, str], body: Any, vid: str) -> Reply:
    video = _video_in(emu, vid, query)
    return ok(video) if video else error(404, "Video not found")


def _delete_video(emu: VideoDBEmulator, query: dict[str, str], body: Any, vid: str) -> Reply:
    if _video_in(emu, vid, query) is None:
        return error(404, "Video not found")
    del emu.videos[vid]
    return ok({})


def _upload_url(emu: VideoDBEmulator, query: dict[str, str], body: Any, cid: str) -> Reply:
    return ok({"upload_url": emu.url(f"blob/{uuid.uuid4().hex[:8]}-{query.get('name', 'file')}")})


def _blob(emu: VideoDBEmulator, query: dict[str, str], body: Any, name: str) -> Reply:
    emu.blobs[name] = len(body) if isinstance(body, bytes | str) else 0
    return ok({})


def _upload(emu: VideoDBEmulator, query: dict[str, str], body: Any, cid: str) -> Reply:
    if cid not in emu.collections:
        return error(404, f"Collection {cid} not found")
    url = str(body.get("url") or "")
    if not url.startswith(("http://", "https://")):
        return error(400, "url is required")
    name = body.get("name") or url.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "video"
    path = f"collection/{cid}/upload"
    holder: dict[str, Any] = {}

    def create() -> None:
        holder.update(emu._new_video(cid, name, emu.upload_length))

    reply = emu._job(path, holder, on_done=create)
    return reply


def _index(emu: VideoDBEmulator, query: dict[str, str], body: Any, vid: str) -> Reply:
    if vid not in emu.videos:
        return error(404, "Video not found")
    if vid in emu.indexed and not body.get("force"):
        return error(400, "Spoken word index already exists for this video")
    return emu._job(f"video/{vid}/index", {}, on_done=lambda: emu.indexed.add(vid))


def _transcription(emu: VideoDBEmulator, query: dict[str, str], body: Any, vid: str) -> Reply:
    if vid not in emu.videos:
        return error(404, "Video not found")
    if vid not in emu.indexed:
        return error(400, "Transcript not found. Index spoken words first.")
    segments = emu.transcripts.get(vid, [])
    start, end = query.get("start"), query.get("end")
    if start not in (None, "None"):
        segments = [s for s in segments if s["end"] > float(start)]
    if end not in (None, "None"):
        segments = [s for s in segments if s["start"] < float(end)]
    return ok({"word_timestamps": segments, "text": " ".join(s["text"] for s in segments)})


def _matches(emu: VideoDBEmulator, vids: list[str], query_text: str, limit: int) -> list[dict[str, Any]]:
    words = {w for w in re.findall(r"\w+", query_text.lower())}
    results = []
    for vid in vids:
        video = emu.videos[vid]
        docs = []
        for seg in emu.transcripts.get(vid, []):
            hits = len(words & set(re.findall(r"\w+", seg["text"].lower())))
            if hits:
                docs.append({"start": seg["start"], "end": seg["end"], "text": seg["text"],
                             "score": round(hits / max(len(words), 1), 3)})
        docs.sort(key=lambda d: -d["score"])
        if docs:
            results.append({"video_id": vid, "collection_id": video["collection_id"], "length": video["length"],
                            "title": video["name"], "docs": docs[:limit]})
    return results


def _search_video(emu: VideoDBEmulator, query: dict[str, str], body: Any, vid: str) -> Reply:
    if vid not in emu.videos:
        return error(404, "Video not found")
    if body.get("index_type") == "scene":
        return ok({"results": _scene_results(emu, [vid])})
    if vid not in emu.indexed:
        return error(400, "Spoken word index not found for this video. Please index it first.")
    return ok({"results": _matches(emu, [vid], body.get("query", ""), int(body.get("result_threshold") or 5))})


def _search_collection(emu: VideoDBEmulator, query: dict[str, str], body: Any, cid: str) -> Reply:
    vids = [v for v, video in emu.videos.items() if video["collection_id"] == cid]
    if body.get("index_type") == "scene":
        return ok({"results": _scene_results(emu, vids)})
    indexed = [v for v in vids if v in emu.indexed]
    if not indexed:
        return error(400, "No spoken word index found in this collection")
    return ok({"results": _matches(emu, indexed, body.get("query", ""), int(body.get("result_threshold") or 5))})


def _search_v2(emu: VideoDBEmulator, query: dict[str, str], body: Any, *ids: str) -> Reply:
    return ok({"response_type": "shots", "results": [], "warnings": []})


def _scene_results(emu: VideoDBEmulator, vids: list[str]) -> list[dict[str, Any]]:
    return [{"video_id": v, "collection_id": emu.videos[v]["collection_id"], "length": emu.videos[v]["length"],
             "title": emu.videos[v]["name"],
             "docs": [{"start": 0.0, "end": 5.0, "text": "a red car", "score": 0.9, "scene_index_id": "si-1"}]}
            for v in vids]


def _stream_reply(emu: VideoDBEmulator) -> Reply:
    sid = uuid.uuid4().hex[:10]
    return ok({"stream_url": emu.url(f"stream/{sid}.m3u8"), "player_url": emu.url(f"watch?v={sid}")})


def _stream(emu: VideoDBEmulator, query: dict[str, str], body: Any, vid: str) -> Reply:
    return _stream_reply(emu) if vid in emu.videos else error(404, "Video not found")


def _compile(emu: VideoDBEmulator, query: dict[str, str], body: Any) -> Reply:
    if not isinstance(body, list) or not body:
        return error(400, "compile expects a list of shots")
    missing = [item["video_id"] for item in body if item.get("video_id") not in emu.videos]
    return error(404, f"Video {missing[0]} not found") if missing else _stream_reply(emu)


def _thumbnail(emu: VideoDBEmulator, query: dict[str, str], body: Any, vid: str) -> Reply:
    if vid not in emu.videos:
        return error(404, "Video not found")
    img = f"img-{uuid.uuid4().hex[:8]}"
    return ok({"id": img, "collection_id": emu.videos[vid]["collection_id"], "url": emu.url(f"image/{img}.jpg"),
               "thumbnail_url": emu.url(f"image/{img}.jpg")})


def _scene_index(emu: VideoDBEmulator, query: dict[str, str], body: Any, vid: str) -> Reply:
    if vid not in emu.videos:
        return error(404, "Video not found")
    return emu._job(f"video/{vid}/index/scene", {"scene_index_id": f"si-{uuid.uuid4().hex[:6]}"})


def _workflow(emu: VideoDBEmulator, query: dict[str, str], body: Any, vid: str) -> Reply:
    if vid not in emu.videos:
        return error(404, "Video not found")
    return _stream_reply(emu)


def _dub(emu: VideoDBEmulator, query: dict[str, str], body: Any, cid: str) -> Reply:
    source = emu.videos.get(body.get("video_id", ""))
    if source is None:
        return error(404, "Video not found")
    holder: dict[str, Any] = {}
    name = f"{source['name']} ({body.get('language_code')})"
    return emu._job(f"collection/{cid}/generate/video/dub", holder,
                    on_done=lambda: holder.update(emu._new_video(cid, name, source["length"])))


def _generate_video(emu: VideoDBEmulator, query: dict[str, str], body: Any, cid: str) -> Reply:
    holder: dict[str, Any] = {}
    return emu._job(f"collection/{cid}/generate/video", holder,
                    on_done=lambda: holder.update(emu._new_video(cid, body.get("prompt", "generated"),
                                                                 float(body.get("duration", 5)))))


def _generate_image(emu: VideoDBEmulator, query: dict[str, str], body: Any, cid: str) -> Reply:
    img = f"img-{uuid.uuid4().hex[:8]}"
    return ok({"id": img, "collection_id": cid, "name": body.get("prompt"), "url": emu.url(f"image/{img}.png")})


def _generate_audio(emu: VideoDBEmulator, query: dict[str, str], body: Any, cid: str) -> Reply:
    aid = f"a-{uuid.uuid4().hex[:8]}"
    length = float(body.get("duration") or 3)
    return ok({"id": aid, "collection_id": cid, "name": body.get("audio_type"), "length": length})


def _audio_url(emu: VideoDBEmulator, query: dict[str, str], body: Any, aid: str) -> Reply:
    return ok({"signed_url": emu.url(f"audio/{aid}.mp3")})


def _async_response(emu: VideoDBEmulator, query: dict[str, str], body: Any, job_id: str) -> Reply:
    return emu.poll(job_id)


_ROUTES: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
    (m, re.compile(p), h)
    for m, p, h in [
        ("GET", r"collection", _list_collections),
        ("POST", r"collection", _create_collection),
        ("GET", r"collection/([^/]+)", _get_collection),
        ("GET", r"collection/([^/]+)/upload_url", _upload_url),
        ("POST", r"collection/([^/]+)/upload", _upload),
        ("POST", r"collection/([^/]+)/search", _search_collection),
        ("POST", r"collection/([^/]+)/search/v2", _search_v2),
        ("POST", r"collection/([^/]+)/generate/video/dub", _dub),
        ("POST", r"collection/([^/]+)/generate/video", _generate_video),
        ("POST", r"collection/([^/]+)/generate/image", _generate_image),
        ("POST", r"collection/([^/]+)/generate/audio", _generate_audio),
        ("GET", r"video", _list_videos),
        ("GET", r"video/([^/]+)", _get_video),
        ("DELETE", r"video/([^/]+)", _delete_video),
        ("POST", r"video/([^/]+)/index", _index),
        ("POST", r"video/([^/]+)/index/scene", _scene_index),
        ("GET", r"video/([^/]+)/transcription", _transcription),
        ("POST", r"video/([^/]+)/search", _search_video),
        ("POST", r"video/([^/]+)/search/v2", _search_v2),
        ("POST", r"video/([^/]+)/stream", _stream),
        ("POST", r"video/([^/]+)/thumbnail", _thumbnail),
        ("GET", r"video/([^/]+)/thumbnail", _thumbnail),
        ("POST", r"video/([^/]+)/workflow", _workflow),
        ("POST", r"compile", _compile),
        ("POST", r"audio/([^/]+)/generate_url", _audio_url),
        ("POST", r"blob/(.+)", _blob),
        ("GET", r"async-response/([^/]+)", _async_response),
    ]
]


class _Handler(BaseHTTPRequestHandler):
    owner: VideoDBEmulator

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return None

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.strip("/")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = raw
        if raw and "json" in (self.headers.get("Content-Type") or ""):
            body = json.loads(raw)
        elif not raw:
            body = {}
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, extra = self.owner.handle(method, path, query, body, headers)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")


@contextmanager
def running(api_key: str = "sk-test-key") -> Iterator[VideoDBEmulator]:
    """Start an emulator for the duration of a `with` block."""
    emulator = VideoDBEmulator(api_key)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
