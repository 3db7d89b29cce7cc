"""Which adapter shows turns of which platform, and how it downloads attachments."""

from __future__ import annotations

from core.agents.base import AttachmentFetcher
from core.delivery.port import PlatformPort


class PlatformRegistry:
    def __init__(self) -> None:
        self._ports: dict[str, PlatformPort] = {}
        self._fetchers: dict[str, AttachmentFetcher] = {}

    def register_port(self, port: PlatformPort) -> None:
        self._ports[port.platform] = port

    def register_fetcher(self, platform: str, fetch: AttachmentFetcher) -> None:
        self._fetchers[platform] = fetch

    def port(self, platform: str) -> PlatformPort | None:
        return self._ports.get(platform)

    def fetcher(self, platform: str) -> AttachmentFetcher | None:
        return self._fetchers.get(platform)

    @property
    def platforms(self) -> list[str]:
        return list(self._ports)
