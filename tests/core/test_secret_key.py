"""DIRECTOR_SECRET_KEY wins; without it one key is made once, kept privately and reused, with a warning."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from core.secret_key import KEY_FILE, load_secret_key


def test_a_configured_key_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    assert load_secret_key(tmp_path, " from-the-environment ") == b"from-the-environment"
    assert not (tmp_path / KEY_FILE).exists()


def test_without_one_a_key_is_made_once_and_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="core.secret_key")
    first = load_secret_key(tmp_path, None)
    assert len(first) >= 32 and load_secret_key(tmp_path, "") == first
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert "Set DIRECTOR_SECRET_KEY" in caplog.text and first.decode() not in caplog.text
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]
