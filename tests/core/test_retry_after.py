"""Retry-After: delta-seconds, HTTP dates, junk."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from core.retry_after import parse_retry_after


def test_seconds_and_absent_values() -> None:
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None


def test_http_date() -> None:
    assert parse_retry_after(formatdate(time.time() + 30, usegmt=True)) == pytest.approx(30, abs=2)
    assert parse_retry_after(formatdate(time.time() - 30, usegmt=True)) == 0.0
