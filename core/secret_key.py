"""The key that signs what the bot hands out (the local backend's Watch links).

DIRECTOR_SECRET_KEY when set. Otherwise a random key is made once, kept in
DIRECTOR_DATA_DIR/secret_key (readable by the bot's user only) and reused at the next
start, with a warning: processes that serve each other's links (several web processes
behind a load balancer, or a worker and a web process) must share one key, so a
deployment of more than one process sets DIRECTOR_SECRET_KEY.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

KEY_FILE = "secret_key"


def load_secret_key(data_dir: Path, configured: str | None) -> bytes:
    if configured and configured.strip():
        return configured.strip().encode()
    path = data_dir / KEY_FILE
    if not path.exists():
        _create(path)
    log.warning("DIRECTOR_SECRET_KEY is not set: links are signed with the key kept in %s. "
                "Set DIRECTOR_SECRET_KEY when more than one process serves or makes links.", path)
    return path.read_text(encoding="ascii").strip().encode()


def _create(path: Path) -> None:
    """Write a new key atomically; if another process got there first, keep theirs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{KEY_FILE}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
