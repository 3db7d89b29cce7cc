"""Signed, expiring links to the local backend's media and player pages.

    /watch/<id>?exp=<unix time>&sig=<signature>
    /media/<path>?exp=<unix time>&sig=<signature>

`sig` is HMAC-SHA256, keyed with DIRECTOR_SECRET_KEY, of the link's path and `exp`
(base64url, no padding). Whoever holds a link can open it until `exp`: MEDIA_LINK_TTL
after it was made, rounded up to the next hour so the links of one answer stay the same
while it is edited (and browsers can cache them). The files a player page points at get
the page's own expiry. A link with a wrong signature is "not found"; an expired one says
so. Without a configured key a link verifies only in the process that made it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlencode

ROUND_S = 3600
DEFAULT_TTL_S = 7 * 24 * 3600
_PROCESS_KEY = secrets.token_bytes(32)


class Check(Enum):
    ok = "ok"
    expired = "expired"
    invalid = "invalid"


@dataclass(frozen=True)
class Verdict:
    check: Check
    expires: int = 0  # unix time, when `check` is ok


class LinkSigner:
    def __init__(self, key: bytes | None = None, ttl_s: float = DEFAULT_TTL_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._key = key or _PROCESS_KEY
        self.ttl_s = ttl_s
        self._clock = clock

    def expiry(self) -> int:
        """When a link made now expires: at least `ttl_s` from now, on a whole hour."""
        step = min(ROUND_S, max(1, int(self.ttl_s)))
        return math.ceil((self._clock() + self.ttl_s) / step) * step

    def sign(self, base_url: str, path: str, expires: int | None = None) -> str:
        """The absolute, signed link to `path` (which starts with "/")."""
        exp = self.expiry() if expires is None else expires
        query = urlencode({"exp": exp, "sig": self._signature(path, exp)})
        return f"{base_url.rstrip('/')}{path}?{query}"

    def verify(self, path: str, query: Mapping[str, str]) -> Verdict:
        """Is this request for `path` signed, and not yet expired?"""
        exp, sig = query.get("exp", ""), query.get("sig", "")
        if not exp.isdigit() or len(exp) > 12 or not hmac.compare_digest(sig, self._signature(path, int(exp))):
            return Verdict(Check.invalid)
        if int(exp) <= self._clock():
            return Verdict(Check.expired)
        return Verdict(Check.ok, int(exp))

    def max_age(self, expires: int) -> int:
        """Seconds a browser may keep what a link served (never past its expiry, at most an hour)."""
        return max(0, min(ROUND_S, int(expires - self._clock())))

    def _signature(self, path: str, expires: int) -> str:
        digest = hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
