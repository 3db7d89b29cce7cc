"""`director-bot …` as a real child process, for tests of crashes, restarts and several
processes on one database.

Each child is its own interpreter, started with the same command a deployment uses;
it talks to the loopback fakes the test runs. The test reads its log (stderr) as it
comes, waits for lines it expects, and stops it with SIGTERM (a deploy) or SIGKILL
(a crash).

    web = await BotProcess.start(["slack", "--http"], env)
    port = await web.port()          # from its "Slack HTTP mode on port N" line
    await web.kill()                 # kill -9
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings

_SETTING_NAMES = {field.alias for field in Settings.model_fields.values() if field.alias}
_PORT_LINE = re.compile(r"Slack HTTP mode on port (\d+)")


def child_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The test process's environment without Director settings, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if key not in _SETTING_NAMES}
    env.update({"DIRECTOR_DATA_DIR": str(data_dir), "MEDIA_PORT": "0", "LOG_LEVEL": "DEBUG",
                "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **settings})
    return env


class BotProcess:
    def __init__(self, process: asyncio.subprocess.Process, args: Sequence[str]) -> None:
        self.process = process
        self.args = list(args)
        self.lines: list[str] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def start(cls, args: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> BotProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *args, env=env, cwd=str(cwd) if cwd else None,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        return cls(process, args)

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.lines.append(line.decode(errors="replace").rstrip())
            self._changed.set()
        self._changed.set()

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    async def wait_for_line(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        """The first log line matching `pattern` (a regex); fails with the log if it never comes."""
        regex = re.compile(pattern)

        async def find() -> re.Match[str]:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    if match := regex.search(line):
                        return match
                seen = len(self.lines)
                if self._reader.done():
                    raise AssertionError(f"director-bot {' '.join(self.args)} ended without {pattern!r}:\n{self.log}")
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {pattern!r} within {timeout} s:\n{self.log[-6000:]}") from None

    async def port(self) -> int:
        return int((await self.wait_for_line(_PORT_LINE.pattern)).group(1))

    async def kill(self) -> None:
        """kill -9: no clean-up of any kind runs in the child."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        await self._reader

    async def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, as a deploy sends; the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await self._reader
        return code
