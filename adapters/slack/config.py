"""The values the Slack adapter reads, built by the process (`bot/platforms.py`) from its settings.

Kept apart from the settings class so the adapter never imports the composition root.
Secrets are plain strings here and are left out of the repr, so a logged config shows none.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SlackConfigError(ValueError):
    """A required Slack value is missing or blank; the message names the variable."""


@dataclass
class SlackConfig:
    bot_token: str = field(repr=False)
    signing_secret: str | None = field(default=None, repr=False)  # None (or blank): HTTP mode refuses
    app_token: str | None = field(default=None, repr=False)  # Socket Mode only
    api_url: str = "https://slack.com/api/"
    inline_clip_mb: float = 20.0
    admin_users: list[str] = field(default_factory=list)
    allowed_channels: list[str] = field(default_factory=list)
    streaming: bool = True  # SLACK_STREAMING: streamed replies where Slack allows them, else the edited card


def required(value: str | None, name: str) -> str:
    """The stripped value; a missing or blank one is a configuration error."""
    secret = (value or "").strip()
    if not secret:
        raise SlackConfigError(f"{name} is required for the Slack bot")
    return secret
