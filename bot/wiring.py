"""The composition root: builds every part from settings and wires them together.

Only `bot/` imports both core and adapters; tests build an `App` the same way,
swapping in a scripted LLM or a backend pointed at a loopback emulator.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.settings import Settings
from core.agents.base import BaseAgent
from core.conversations import Conversations
from core.delivery.port import PlatformPort
from core.delivery.registry import PlatformRegistry
from core.llm.base import BaseLLM
from core.llm.offline_router import OfflineRouter
from core.reasoning.engine import EngineLimits, ReasoningEngine
from core.runner.base import TurnRunner
from core.runner.executor import TurnExecutor
from core.runner.inprocess import InProcessRunner
from core.runner.queue import QueueOptions, QueueRunner, queue_app
from core.runtime.intake import Intake
from core.runtime.processes import ProcessRegistry
from core.runtime.upkeep import Upkeep
from core.storage.database import create_engine, is_postgres, libpq_url, migrate
from core.storage.store import Store
from core.video.backend import VideoBackend

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def build_llm(settings: Settings) -> BaseLLM:
    """OpenAI (or compatible) → VideoDB's proxy → the offline command router."""
    from core.llm.choice import choose_llm

    llm = choose_llm(
        openai_api_key=_secret(settings.openai_api_key), openai_base_url=settings.openai_base_url,
        openai_model=settings.openai_model, video_db_api_key=_secret(settings.video_db_api_key),
        video_db_base_url=settings.video_db_base_url, timeout_s=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries, tool_mode=settings.llm_tool_mode,
    )
    return llm if llm is not None else OfflineRouter()


class App:
    """Everything a process needs, started and stopped together."""

    def __init__(self, settings: Settings, store: Store, backend: VideoBackend, llm: BaseLLM,
                 agents: list[BaseAgent], *, role: str = "app") -> None:
        self.settings = settings
        self.store = store
        self.backend = backend
        self.llm = llm
        self.role = role
        self.platforms = PlatformRegistry()
        self.registry = ProcessRegistry(store.sessionmaker, role=role, heartbeat_s=settings.heartbeat_s,
                                        stale_s=settings.process_stale_s)
        self.intake = Intake(store.sessionmaker, self.registry)
        limits = EngineLimits(max_iterations=settings.max_iterations,
                              history_tokens=settings.context_token_budget)
        self.engine = ReasoningEngine(llm, agents, limits)
        for agent in agents:
            agent.timeout_s = min(agent.timeout_s, settings.agent_timeout_s)
        self.executor = TurnExecutor(
            store, backend, llm, self.engine, self.platforms,
            work_dir=settings.director_data_dir, max_upload_bytes=settings.max_upload_mb * 1024 * 1024,
        )
        self.runner: TurnRunner = build_runner(settings, self.executor, self.registry, role)
        self.conversations = Conversations(store, backend, self.runner, self.platforms, owner=self.registry.id)
        self.upkeep = Upkeep(self.runner, self.intake, store.ledger,
                             ledger_retention_days=settings.ledger_retention_days)
        self.media_base_url: str | None = settings.media_public_url
        self._media_server: object | None = None

    def register_port(self, port: PlatformPort) -> None:
        self.platforms.register_port(port)

    @property
    def queue_runner(self) -> QueueRunner | None:
        return self.runner if isinstance(self.runner, QueueRunner) else None

    async def health(self) -> dict[str, object]:
        """What /healthz reports beside ok: this process and its runtime."""
        report: dict[str, object] = {"role": self.role, "process": self.registry.id[:8]}
        if self.queue_runner is None:
            return {**report, "runtime": "in-process"}
        workers = await self.queue_runner.workers_alive()
        report.update(runtime="queue", workers=workers)
        if not workers:
            report["warning"] = "no worker is running: turns wait in the queue (start `director-bot worker`)"
        return report

    async def _say_if_no_worker(self) -> None:
        if self.queue_runner is not None and self.role != "worker" and not await self.queue_runner.workers_alive():
            log.warning("no `director-bot worker` is running on this database: turns will wait in the queue "
                        "until one starts")

    @property
    def public_media_url(self) -> str:
        """Base of links the local backend hands out (MEDIA_PUBLIC_URL wins)."""
        if self.settings.media_public_url:
            return self.settings.media_public_url.rstrip("/")
        if self.media_base_url:
            return self.media_base_url.rstrip("/")
        return f"http://{self.settings.media_host}:{self.settings.media_port}"

    def media_routes(self) -> "web.Application | None":
        """The /media and /watch routes, to mount in an adapter's own HTTP server."""
        if self.backend.name != "local":
            return None
        from core.video.local.media_server import create_media_app

        return create_media_app(self.backend)  # type: ignore[arg-type]

    async def start(self, serve_media: bool = True) -> None:
        self.registry.platforms = self.platforms.platforms
        await self.registry.start()
        await self.backend.start()
        if serve_media and self.backend.name == "local":
            from core.video.local.media_server import MediaServer

            server = MediaServer(self.backend)  # type: ignore[arg-type]
            bound = await server.start(self.settings.media_host, self.settings.media_port)
            self._media_server = server
            if not self.settings.media_public_url:
                self.media_base_url = bound
            log.info("media server at %s", bound)
        await self.runner.start()
        await self.intake.adopt()
        self.upkeep.start()
        await self._say_if_no_worker()

    async def stop(self) -> None:
        await self.upkeep.stop()
        await self.intake.stop()
        await self.runner.stop()
        await self.registry.stop()
        if self._media_server is not None:
            await self._media_server.stop()  # type: ignore[attr-defined]
        await self.backend.close()
        await self.llm.close()
        await self.store.close()


QUEUE_ROLES = frozenset({"web", "slack", "discord", "worker"})


def build_runner(settings: Settings, executor: TurnExecutor, registry: ProcessRegistry, role: str) -> TurnRunner:
    """PostgreSQL deployments run turns on the task queue (workers); everything else, and
    the console always, runs them in this process."""
    per_workspace = settings.max_turns_per_workspace or max(1, settings.max_concurrent_turns - 1)
    url = settings.resolved_database_url
    if is_postgres(url) and role in QUEUE_ROLES:
        options = QueueOptions(concurrency=settings.max_concurrent_turns, max_per_workspace=per_workspace,
                               shutdown_grace_s=settings.shutdown_grace_s, heartbeat_s=settings.heartbeat_s,
                               stalled_after_s=settings.process_stale_s)
        return QueueRunner(executor, registry, queue_app(libpq_url(url)), work=role == "worker", options=options)
    return InProcessRunner(executor, registry, max_concurrent=settings.max_concurrent_turns,
                           max_per_workspace=per_workspace)


def videodb_threads(max_concurrent_turns: int) -> int:
    """Two threads per turn this process may run (the model may ask for tools side by side;
    more wait their turn), plus two for what people do between turns (autocomplete, lists).
    A cancelled turn's calls give their threads back at the SDK's next poll (`pool`)."""
    return 2 * max_concurrent_turns + 2


def build_backend(settings: Settings, store: Store, app_ref: list[App]) -> VideoBackend:
    if settings.video_db_api_key is not None:
        from core.video.videodb.backend import VideoDBBackend

        return VideoDBBackend(settings.video_db_api_key.get_secret_value(), settings.video_db_base_url,
                              max_workers=videodb_threads(settings.max_concurrent_turns))
    from core.secret_key import load_secret_key
    from core.video.local.backend import LocalBackend
    from core.video.local.links import LinkSigner

    def public_url() -> str:
        return app_ref[0].public_media_url

    key = load_secret_key(settings.director_data_dir, _secret(settings.director_secret_key))
    return LocalBackend(
        store.sessionmaker, settings.director_data_dir, public_url,
        max_upload_bytes=settings.max_upload_mb * 1024 * 1024, whisper_model=settings.whisper_model,
        ffmpeg_binary=settings.ffmpeg_binary, allow_private_urls=settings.upload_allow_private_urls,
        links=LinkSigner(key, settings.media_link_ttl),
    )


async def build_app(settings: Settings, *, llm: BaseLLM | None = None, backend: VideoBackend | None = None,
                    agents: list[BaseAgent] | None = None, role: str = "app") -> App:
    """Create the database (migrated), backend, LLM and agents, wired into an App."""
    from core.agents.registry import all_agents

    settings.director_data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    await migrate(engine)
    store = Store(engine)
    app_ref: list[App] = []
    backend = backend or build_backend(settings, store, app_ref)
    app = App(settings, store, backend, llm or build_llm(settings), agents or all_agents(), role=role)
    app_ref.append(app)
    return app
