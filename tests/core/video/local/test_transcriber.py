"""Which Whisper model is loaded, and the checksum that guards the packaged one."""

from __future__ import annotations

from pathlib import Path

from core.video.local.transcriber import (
    PACKAGED_MODEL_SHA256, packaged_model_path, resolve_model, sha256_of,
)


def test_default_model_is_the_packaged_tiny_en_and_matches_its_checksum() -> None:
    source, expected = resolve_model("tiny.en")
    assert Path(source) == packaged_model_path() and expected == PACKAGED_MODEL_SHA256
    assert sha256_of(Path(source) / "model.bin") == PACKAGED_MODEL_SHA256


def test_a_folder_or_another_name_is_used_as_given(tmp_path: Path) -> None:
    assert resolve_model(str(tmp_path)) == (str(tmp_path), None)
    assert resolve_model("base.en") == ("base.en", None)
