"""The console loop: every line is a message in one thread of one channel.

Ctrl-C cancels the running turn; a second Ctrl-C exits. End of input exits 0.
`upload <path>` of a file on this machine attaches it (only the console may read
local files: it is the user's own machine).
"""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
import signal
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from core.conversations import Conversations
from core.incoming import Incoming, ThreadKey
from core.messages import Attachment

log = logging.getLogger(__name__)

WORKSPACE = "local"


def _start_reader(stream: TextIO, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Read lines in a daemon thread (works for ttys, pipes and files alike)."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        for line in stream:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="console-stdin", daemon=True).start()
    return queue


@dataclass(frozen=True)
class LocalUpload:
    """What `upload <path>` in the console means: the line to send and its attachment, or a refusal."""

    text: str
    attachments: list[Attachment]
    problem: str | None = None


def local_upload(text: str) -> LocalUpload:
    """`upload ./talk.mp4 [as name]` → ("upload [as name]", [attachment of that file]).

    Paths may hold spaces and " as ": quote them (`upload "my talk as given.mp4" as Final`),
    or leave them bare: the whole rest is tried as a path first, then each split at " as ".
    A missing file, a folder and an unreadable file each get their own short answer.
    """
    verb, _, rest = text.strip().partition(" ")
    rest = rest.strip()
    if verb.lower() != "upload" or not rest or re.match(r"^https?://", rest, re.I) or rest.lower().startswith("as "):
        return LocalUpload(text, [])
    candidates = _path_candidates(rest)
    if candidates is None:
        return LocalUpload(text, [], "I couldn't read that path: a quote is not closed.")
    for path_text, name in candidates:
        path = Path(path_text).expanduser()
        if path.exists():
            return _attach(path, path_text, name)
    path_text, _name = candidates[-1] if len(candidates) > 1 else candidates[0]
    return LocalUpload(text, [], f"I can't find {path_text}: there is no such file"
                       + (" (put a path with spaces or \" as \" in quotes)." if " " in path_text else "."))


def _path_candidates(rest: str) -> list[tuple[str, str]] | None:
    """(path, name) readings of the words after `upload`, the likeliest first."""
    if rest[0] in "\"'":
        try:
            words = shlex.split(rest)
        except ValueError:
            return None
        name = " ".join(words[2:]) if len(words) > 2 and words[1].lower() == "as" else ""
        return [(words[0], name)]
    readings = [(rest, "")]
    for match in reversed(list(re.finditer(r"\s+as\s+", rest, re.I))):
        readings.append((rest[:match.start()], rest[match.end():].strip()))
    return readings


def _attach(path: Path, given: str, name: str) -> LocalUpload:
    command = "upload" + (f" as {name}" if name else "")
    if path.is_dir():
        return LocalUpload(command, [], f"{given} is a folder; give me one video or audio file in it.")
    if not path.is_file():
        return LocalUpload(command, [], f"{given} isn't a regular file I can upload.")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        return LocalUpload(command, [], f"I can't read {given}: {(exc.strerror or 'read error').lower()}.")
    return LocalUpload(command, [Attachment(name=path.name, local_path=str(path.resolve()),
                                            size=path.stat().st_size)])


class ConsoleSession:
    def __init__(self, conversations: Conversations, channel: str, thread: str,
                 stdin: TextIO, stdout: TextIO, interactive: bool) -> None:
        self._conversations = conversations
        self._thread = ThreadKey(platform="console", workspace_id=WORKSPACE, channel_id=channel, thread_id=thread)
        self._stdin = stdin
        self._stdout = stdout
        self._interactive = interactive
        self._run_id = uuid.uuid4().hex[:8]
        self._running_turn: str | None = None
        self._interrupts = 0
        self._quit = asyncio.Event()

    def _on_sigint(self) -> None:
        self._interrupts += 1
        if self._running_turn is not None and self._interrupts == 1:
            # No extra line here: the turn's own message turns to "Cancelled" in place.
            asyncio.get_running_loop().create_task(self._conversations.cancel(self._running_turn))
        else:
            self._quit.set()

    def _say(self, text: str) -> None:
        self._stdout.write(text + "\n")
        self._stdout.flush()

    def _prompt(self) -> None:
        if self._interactive:
            self._stdout.write("> ")
            self._stdout.flush()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, self._on_sigint)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass
        lines = _start_reader(self._stdin, loop)
        if self._interactive:
            self._say(f"Director Bot console · #{self._thread.channel_id} · thread {self._thread.thread_id}\n"
                      "Type `help` for commands. Ctrl-C cancels a running request (twice quits), Ctrl-D quits.")
        number = 0
        while not self._quit.is_set():
            self._prompt()
            line = await self._next_line(lines)
            if line is None:
                break
            number += 1
            if line.strip():
                await self._handle(line.strip(), number)
        return 0

    async def _next_line(self, lines: asyncio.Queue[str | None]) -> str | None:
        getter = asyncio.ensure_future(lines.get())
        quitter = asyncio.ensure_future(self._quit.wait())
        done, pending = await asyncio.wait({getter, quitter}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return getter.result() if getter in done else None

    async def _handle(self, text: str, number: int) -> None:
        upload = local_upload(text)
        if upload.problem is not None:  # only this terminal can see the user's files: answered here
            self._say(f"⚠️ {upload.problem}")
            return
        incoming = Incoming(thread=self._thread, user_id="console", text=upload.text, attachments=upload.attachments,
                            event_keys=[f"console:{self._run_id}:{number}"], channel_name=self._thread.channel_id)
        accepted = await self._conversations.accept(incoming)
        if accepted is None:
            return
        self._running_turn = accepted.turn.turn_id
        self._interrupts = 0
        waiter = asyncio.ensure_future(self._conversations.wait(accepted.turn.turn_id))
        quitter = asyncio.ensure_future(self._quit.wait())
        await asyncio.wait({waiter, quitter}, return_when=asyncio.FIRST_COMPLETED)
        quitter.cancel()
        if not waiter.done():
            await self._conversations.cancel(accepted.turn.turn_id)
            await asyncio.wait({waiter}, timeout=10)
        self._running_turn = None


async def run_console(conversations: Conversations, channel: str, thread: str,
                      stdin: TextIO | None = None, stdout: TextIO | None = None,
                      interactive: bool | None = None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if interactive is None:
        interactive = stdin.isatty() and stdout.isatty()
    return await ConsoleSession(conversations, channel, thread, stdin, stdout, interactive).run()
