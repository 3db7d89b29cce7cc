"""`director-bot console` as a user runs it: a subprocess fed through a pipe."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.helpers.media import make_talk_video

TALK = "Welcome to the pricing review. Our pricing changes in March. Thank you all for coming."


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "VIDEO_DB_", "SLACK_", "DISCORD_"))}
    env.update({"DIRECTOR_DATA_DIR": str(tmp_path / "data"), "MEDIA_PORT": "0", "HF_HUB_OFFLINE": "1"})
    env.update(extra)
    return env


async def _console(tmp_path: Path, stdin: bytes, *args: str, **env: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "console", *args, cwd=tmp_path, env=_env(tmp_path, **env),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_help_through_a_pipe_prints_the_grammar_and_exits_zero(tmp_path: Path) -> None:
    code, out, _ = await _console(tmp_path, b"help\n")
    assert code == 0
    assert "search <words>" in out and "clip <video> <start>-<end>" in out


async def test_natural_language_without_an_llm_explains_and_shows_the_grammar(tmp_path: Path) -> None:
    code, out, _ = await _console(tmp_path, b"make a 60-second highlight of the demo\nvideos\n")
    assert code == 0
    assert "needs" not in out or "language model" in out
    assert "OPENAI_API_KEY" in out and "search <words>" in out
    assert "No videos" in out or "Videos (0)" in out


async def test_refusals_are_failed_requests_not_done(tmp_path: Path) -> None:
    code, out, _ = await _console(tmp_path, b"search\nmake a highlight reel\nhelp\n")
    assert code == 0
    search, unknown, help_text = re.split(r"^(?=\u26a0\ufe0f Failed|\u2705 Done)", out, flags=re.M)[1:]
    assert search.startswith("\u26a0\ufe0f Failed") and "Search for what?" in search
    assert unknown.startswith("\u26a0\ufe0f Failed") and "OPENAI_API_KEY" in unknown
    assert help_text.startswith("\u2705 Done") and "search <words>" in help_text


async def test_upload_of_a_missing_path_gets_a_short_answer(tmp_path: Path) -> None:
    code, out, _ = await _console(tmp_path, b"upload ./missing talk.mp4\nupload .\n")
    assert code == 0
    assert "I can't find ./missing talk.mp4: there is no such file" in out
    assert ". is a folder; give me one video or audio file in it." in out
    assert "http" not in out and "Commands" not in out


async def test_an_invalid_setting_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    code, out, err = await _console(tmp_path, b"help\n", MAX_UPLOAD_MB="lots")
    assert code == 2 and "MAX_UPLOAD_MB" in err and out == ""


async def test_channels_are_separate_collections(tmp_path: Path) -> None:
    video = make_talk_video(tmp_path / "talk.mp4", "Hello from the first channel.")
    code, out, _ = await _console(tmp_path, f"upload {video}\nvideos\n".encode(), "--channel", "one")
    assert code == 0 and "Videos (1)" in out
    code, out, _ = await _console(tmp_path, b"videos\ntranscript talk\n", "--channel", "two")
    assert code == 0 and ("No videos" in out or "Videos (0)" in out)
    assert "Hello from the first channel" not in out


@pytest.mark.media
async def test_scripted_session_uploads_searches_compiles_and_the_link_plays(tmp_path: Path) -> None:
    video = make_talk_video(tmp_path / "review.mp4", TALK)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "console", cwd=tmp_path, env=_env(tmp_path),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(f"upload {video}\nsearch pricing changes\ncompile pricing\n".encode())
    await process.stdin.drain()

    output: list[str] = []
    watch_links: list[str] = []
    while len(watch_links) < 3:  # upload, search's compiled hits, compile
        line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
        assert line, "console ended early:\n" + "".join(output)
        output.append(line)
        watch_links += re.findall(r"Watch:\s+(\S+)", line)
    text = "".join(output)
    assert "Hits for “pricing changes”" in text and "pricing changes in March" in text

    async with aiohttp.ClientSession() as http:  # the console is still running: its links play
        async with http.get(watch_links[-1]) as page:
            assert page.status == 200 and "<video" in await page.text()
        stream = re.findall(r"Stream:\s+(\S+)", text)[-1]
        async with http.get(stream, headers={"Range": "bytes=0-99"}) as media:
            assert media.status == 206 and media.headers["Content-Type"] == "video/mp4"

    process.stdin.close()
    assert await asyncio.wait_for(process.wait(), 60) == 0


async def test_migrate_and_sample_video_commands(tmp_path: Path) -> None:
    for args in (["migrate"], ["migrate"], ["sample-video", "talk.mp4", "--text", "Hello there, team."]):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, cwd=tmp_path, env=_env(tmp_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, err.decode()
    assert "wrote" in out.decode() and (tmp_path / "talk.mp4").stat().st_size > 10_000
    assert (tmp_path / "data" / "director.db").exists()
