"""When a turn ends its work dir and staged uploads go; nothing else is ever touched."""

from __future__ import annotations

from pathlib import Path

from core.messages import Attachment
from core.runner.turn_files import discard_turn_files, staging_dir, turn_work_dir


async def test_only_the_turns_own_files_are_deleted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    work = turn_work_dir(data, "t1") / "uploads"
    work.mkdir(parents=True)
    (work / "partial.mp4").write_bytes(b"half")
    staging_dir(data).mkdir(parents=True)
    staged, other_staged = staging_dir(data) / "a.mp4", staging_dir(data) / "b.mp4"
    staged.write_bytes(b"x")
    other_staged.write_bytes(b"y")
    mine = tmp_path / "my talk.mp4"  # a console upload names the person's own file
    mine.write_bytes(b"z")
    sneaky = Attachment(name="x", local_path=str(staging_dir(data) / ".." / ".." / ".." / mine.name))
    other_turn = turn_work_dir(data, "t2")
    other_turn.mkdir()

    await discard_turn_files(data, "t1", [Attachment(name="a", local_path=str(staged)),
                                          Attachment(name="mine", local_path=str(mine)), sneaky])
    assert not turn_work_dir(data, "t1").exists() and not staged.exists()
    assert other_staged.exists() and mine.exists() and other_turn.exists()
    await discard_turn_files(data, "t3", [])  # nothing there: fine
