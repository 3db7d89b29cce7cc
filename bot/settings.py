"""Settings for every process, read from the environment and `.env`.

One flat class so each variable name in `.env.example` maps to one field. A bad
value stops start-up with a message that names the variable (see `load_settings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """Raised when the environment holds an invalid setting; the message names it."""


def _default_data_dir() -> Path:
    return Path.cwd() / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False,
        env_ignore_empty=True, populate_by_name=True,
    )

    # --- storage and logging -------------------------------------------------
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    director_data_dir: Path = Field(default_factory=_default_data_dir, alias="DIRECTOR_DATA_DIR")
    director_secret_key: SecretStr | None = Field(default=None, alias="DIRECTOR_SECRET_KEY")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")

    # --- LLM --------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    openai_model: str = Field(default="gpt-4o-mini", alias="OPENAI_MODEL")
    llm_timeout_s: float = Field(default=60.0, gt=0, alias="LLM_TIMEOUT_S")
    llm_max_retries: int = Field(default=3, ge=0, le=10, alias="LLM_MAX_RETRIES")
    llm_tool_mode: Literal["auto", "native", "json"] = Field(default="auto", alias="LLM_TOOL_MODE")

    # --- reasoning and jobs -------------------------------------------------------
    max_iterations: int = Field(default=8, ge=1, le=50, alias="MAX_ITERATIONS")
    agent_timeout_s: float = Field(default=900.0, gt=0, alias="AGENT_TIMEOUT_S")
    context_token_budget: int = Field(default=6000, ge=500, alias="CONTEXT_TOKEN_BUDGET")
    max_concurrent_turns: int = Field(default=4, ge=1, le=256, alias="MAX_CONCURRENT_TURNS")
    max_turns_per_workspace: int = Field(default=0, ge=0, le=256, alias="MAX_TURNS_PER_WORKSPACE")

    # --- runtime (several processes on one database) ----------------------------
    heartbeat_s: float = Field(default=10.0, gt=0, alias="HEARTBEAT_S")
    process_stale_s: float = Field(default=30.0, gt=0, alias="PROCESS_STALE_S")
    ledger_retention_days: float = Field(default=14.0, gt=0, alias="LEDGER_RETENTION_DAYS")
    shutdown_grace_s: float = Field(default=20.0, ge=0, alias="SHUTDOWN_GRACE_S")

    # --- video backends ---------------------------------------------------------
    video_db_api_key: SecretStr | None = Field(default=None, alias="VIDEO_DB_API_KEY")
    video_db_base_url: str = Field(default="https://api.videodb.io", alias="VIDEO_DB_BASE_URL")
    max_upload_mb: int = Field(default=500, ge=1, alias="MAX_UPLOAD_MB")
    upload_allow_private_urls: bool = Field(default=False, alias="UPLOAD_ALLOW_PRIVATE_URLS")
    whisper_model: str = Field(default="tiny.en", alias="WHISPER_MODEL")
    ffmpeg_binary: str | None = Field(default=None, alias="FFMPEG_BINARY")

    # --- media server (local backend) ------------------------------------------
    media_host: str = Field(default="127.0.0.1", alias="MEDIA_HOST")
    media_port: int = Field(default=8765, ge=0, le=65535, alias="MEDIA_PORT")
    media_public_url: str | None = Field(default=None, alias="MEDIA_PUBLIC_URL")
    media_link_ttl: int = Field(default=7 * 24 * 3600, ge=60, alias="MEDIA_LINK_TTL")  # seconds

    # --- Slack --------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    slack_inline_clip_mb: float = Field(default=20.0, ge=0, alias="SLACK_INLINE_CLIP_MB")
    slack_admin_users: str = Field(default="", alias="SLACK_ADMIN_USERS")
    slack_allowed_channels: str = Field(default="", alias="SLACK_ALLOWED_CHANNELS")
    slack_streaming: bool = Field(default=True, alias="SLACK_STREAMING")
    host: str = Field(default="0.0.0.0", alias="HOST")  # the web process's interface (`slack --http`)
    port: int = Field(default=3000, ge=0, le=65535, alias="PORT")

    # --- Discord ------------------------------------------------------------------
    discord_bot_token: SecretStr | None = Field(default=None, alias="DISCORD_BOT_TOKEN")
    discord_api_url: str | None = Field(default=None, alias="DISCORD_API_URL")
    discord_gateway_url: str | None = Field(default=None, alias="DISCORD_GATEWAY_URL")
    discord_message_content: bool = Field(default=False, alias="DISCORD_MESSAGE_CONTENT")
    discord_allowed_guilds: str = Field(default="", alias="DISCORD_ALLOWED_GUILDS")
    discord_admin_role: str = Field(default="", alias="DISCORD_ADMIN_ROLE")
    discord_shard_count: int | None = Field(default=None, ge=1, alias="DISCORD_SHARD_COUNT")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if not value:
            return None
        from core.storage.database import is_postgres, sqlalchemy_url

        if is_postgres(value):
            return sqlalchemy_url(value)  # psycopg 3; postgresql+asyncpg:// URLs are accepted too
        if not value.startswith("sqlite+aiosqlite://"):
            raise ValueError("must start with sqlite+aiosqlite://, postgresql:// or postgresql+psycopg://")
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database to use: `DATABASE_URL`, else SQLite under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.director_data_dir / 'director.db'}"

    @property
    def video_backend_name(self) -> str:
        return "videodb" if self.video_db_api_key else "local"


def split_list(value: str) -> list[str]:
    """Comma- or space-separated setting values, e.g. `SLACK_ALLOWED_CHANNELS`."""
    return [item for item in value.replace(",", " ").split() if item]


def load_settings(**overrides: object) -> Settings:
    """Read settings; on a bad value raise `SettingsError` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid setting " + "; ".join(problems)) from None
