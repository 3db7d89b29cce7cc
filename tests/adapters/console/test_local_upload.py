"""`upload <path>` in the console: real paths (spaces, " as ", quotes) and each mistake its own answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.console.repl import local_upload


@pytest.fixture
def talk(tmp_path: Path) -> Path:
    path = tmp_path / "board meeting as recorded.mp4"
    path.write_bytes(b"\x00" * 64)
    return path


def test_a_bare_path_with_spaces_and_as_is_tried_whole_first(talk: Path) -> None:
    upload = local_upload(f"upload {talk}")
    assert upload.problem is None and upload.text == "upload"
    assert [a.local_path for a in upload.attachments] == [str(talk.resolve())]
    assert upload.attachments[0].name == "board meeting as recorded.mp4"


def test_a_bare_path_with_as_then_a_name(talk: Path) -> None:
    upload = local_upload(f"upload {talk} as Board, March")
    assert upload.problem is None and upload.text == "upload as Board, March"
    assert upload.attachments[0].local_path == str(talk.resolve())


@pytest.mark.parametrize("quote", ['"', "'"])
def test_a_quoted_path_and_a_name(talk: Path, quote: str) -> None:
    upload = local_upload(f"upload {quote}{talk}{quote} as Final cut")
    assert upload.problem is None and upload.text == "upload as Final cut"
    assert upload.attachments[0].local_path == str(talk.resolve())


def test_a_relative_path_from_the_working_folder(talk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(talk.parent)
    upload = local_upload(f"upload ./{talk.name}")
    assert upload.attachments[0].local_path == str(talk.resolve())


def test_a_missing_file_says_so_naming_it_as_typed(tmp_path: Path) -> None:
    upload = local_upload("upload ./no such talk.mp4 as Keynote")
    assert upload.problem == ('I can\'t find ./no such talk.mp4: there is no such file (put a path with spaces '
                              'or " as " in quotes).')
    assert local_upload("upload nope.mp4").problem == "I can't find nope.mp4: there is no such file."
    assert "help" not in (upload.problem or "") and upload.attachments == []


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    assert local_upload(f"upload {tmp_path}").problem == f"{tmp_path} is a folder; give me one video or audio file in it."


def test_an_unreadable_file_says_why(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root reads any mode: a file whose read fails even for root
        path, expected = Path("/proc/self/mem"), "I can't read /proc/self/mem: input/output error."
    else:
        path = tmp_path / "locked.mp4"
        path.write_bytes(b"x")
        path.chmod(0)
        expected = f"I can't read {path}: permission denied."
    assert local_upload(f"upload {path}").problem == expected


def test_an_unclosed_quote_is_explained() -> None:
    assert local_upload('upload "talk.mp4').problem == "I couldn't read that path: a quote is not closed."


@pytest.mark.parametrize("line", ["upload https://example.com/a b.mp4", "upload", "upload as Keynote", "videos",
                                  "search upload"])
def test_links_and_other_lines_pass_through(line: str) -> None:
    upload = local_upload(line)
    assert (upload.text, upload.attachments, upload.problem) == (line, [], None)
