"""`director-bot slack|discord` refuse to start without their required settings."""

from __future__ import annotations

import pytest

from bot.cli import main


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["slack"], {}, "SLACK_BOT_TOKEN"),
        (["slack", "--http"], {"SLACK_BOT_TOKEN": "xoxb-t"}, "SLACK_SIGNING_SECRET"),
        (["slack"], {"SLACK_BOT_TOKEN": "xoxb-t"}, "SLACK_APP_TOKEN"),
        (["discord"], {}, "DISCORD_BOT_TOKEN"),
    ],
)
def test_missing_tokens_are_named(argv: list[str], env: dict[str, str], named: str, tmp_path,  # type: ignore[no-untyped-def]
                                  monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIRECTOR_DATA_DIR", str(tmp_path / "data"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    assert named in capsys.readouterr().err
