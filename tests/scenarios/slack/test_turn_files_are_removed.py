"""A turn's downloads live in DIRECTOR_DATA_DIR/incoming/<turn> and go when the turn ends:
after a finished upload, and after a download cancelled half-way (its partial file too)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.fakes.slack_api import FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory

CHANNEL = "C1"


def incoming_files(data_dir: Path) -> list[Path]:
    root = data_dir / "incoming"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def turn_dirs(data_dir: Path) -> list[Path]:
    root = data_dir / "incoming"
    return [path for path in root.iterdir() if path.name != "staged"] if root.exists() else []


async def test_a_finished_upload_leaves_no_files_behind(slack_bot: BotFactory, fake_slack: FakeSlack,
                                                        talk_video: bytes, tmp_path: Path) -> None:
    bot = await slack_bot()
    root = mention(CHANNEL, "upload", files=[fake_slack.add_file("talk.mp4", talk_video)])
    await bot.send(root)
    card = await bot.final_card(CHANNEL, root["ts"], timeout=120)
    assert "Done" in card.text, card.all_text()
    assert incoming_files(tmp_path / "data") == [] and turn_dirs(tmp_path / "data") == []


async def test_a_download_cancelled_half_way_leaves_no_partial_file(slack_bot: BotFactory, fake_slack: FakeSlack,
                                                                    talk_video: bytes, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fake_slack.stall_downloads = asyncio.Event()
    bot = await slack_bot()
    root = mention(CHANNEL, "upload", files=[fake_slack.add_file("talk.mp4", talk_video)])
    await bot.send(root)
    await fake_slack.wait_until(lambda: fake_slack.downloads)  # half sent, then stalled
    [card] = await fake_slack.wait_until(lambda: [c for c in bot.cards(CHANNEL, root["ts"])
                                                  if c.button("director_cancel")])
    await bot.press("director_cancel", card.button("director_cancel")["value"], card)
    final = await bot.final_card(CHANNEL, root["ts"])
    assert "Cancelled" in final.text
    assert incoming_files(data_dir) == [] and turn_dirs(data_dir) == []
