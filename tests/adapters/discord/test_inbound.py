"""Discord events and commands → Incoming and the core's command grammar."""

from __future__ import annotations

import pytest

from adapters.discord import inbound


def test_session_and_collection_keys() -> None:
    incoming = inbound.interaction_create(interaction_id=9, guild_id=1, parent_id=2, thread_id=3, user_id=4,
                                          text="hi")
    assert incoming.thread.model_dump() == {"platform": "discord", "workspace_id": "1", "channel_id": "2",
                                            "thread_id": "3"}
    assert incoming.thread.channel == inbound.channel_key(1, 2)
    assert incoming.event_keys == ["discord:interaction:9"]
    message = inbound.message_create(message_id=8, guild_id=1, parent_id=2, thread_id=3, user_id=4, text="x")
    assert message.event_keys == ["discord:message:8"]


def test_commands_become_the_core_grammar() -> None:
    assert inbound.search_text(" goals ") == "search goals"
    assert inbound.clip_text("keynote", "1:05", "100") == "clip keynote 1:05-100"
    assert inbound.compile_text("pricing") == "compile pricing"
    assert inbound.upload_text("https://x.example/v.mp4") == "upload https://x.example/v.mp4"
    assert inbound.upload_text(None) == "upload"
    assert (inbound.videos_text(), inbound.help_text()) == ("videos", "help")
    with pytest.raises(ValueError):
        inbound.clip_text("keynote", "soon", "1:00")


def test_thread_names_fit_discord() -> None:
    assert inbound.thread_name("  find   the goals\n please ") == "find the goals please"
    assert len(inbound.thread_name("x" * 500)) == 100
    assert inbound.thread_name("") == inbound.FALLBACK_THREAD_NAME
    assert inbound.thread_name("<@123>") == inbound.FALLBACK_THREAD_NAME


def test_mentions_are_stripped() -> None:
    assert inbound.strip_mention("<@42> clip keynote 0-5", 42) == "clip keynote 0-5"
    assert inbound.strip_mention("hey <@!42>", 42) == "hey"
