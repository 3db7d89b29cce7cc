"""The Discord translators take whatever discord.py hands over: random values never raise
(clip times that are not times are a ValueError the command answers, by design)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord import inbound
from core.incoming import Incoming

SNOWFLAKE = st.integers(min_value=0, max_value=2**64 - 1)
TEXT = st.text(max_size=300) | st.sampled_from(["<@1> hi", "<@!1>", "@everyone", "<#2> <@&3> <:e:4>", " \n\t"])
FILES = st.lists(st.tuples(st.text(max_size=30), st.text(max_size=60), st.none() | st.text(max_size=20),
                           st.integers(min_value=0, max_value=2**40)), max_size=4)


@settings(max_examples=300, deadline=None)
@given(ids=st.tuples(SNOWFLAKE, SNOWFLAKE, SNOWFLAKE, SNOWFLAKE, SNOWFLAKE), text=TEXT, files=FILES,
       channel_name=st.none() | st.text(max_size=100))
def test_events_translate_whatever_the_values(ids: tuple[int, int, int, int, int], text: str,
                                              files: list[tuple[str, str, str | None, int]],
                                              channel_name: str | None) -> None:
    event_id, guild, parent, thread, user = ids
    attachments = inbound.message_attachments(files)
    for translate, key in ((inbound.interaction_create, "interaction_id"), (inbound.message_create, "message_id")):
        incoming = translate(**{key: event_id}, guild_id=guild, parent_id=parent, thread_id=thread, user_id=user,
                             text=inbound.strip_mention(text, user), attachments=attachments,
                             channel_name=channel_name)
        assert isinstance(incoming, Incoming) and incoming.thread.thread_id == str(thread)


@settings(max_examples=300, deadline=None)
@given(text=TEXT, other=TEXT, bot=SNOWFLAKE)
def test_command_text_never_raises(text: str, other: str, bot: int) -> None:
    name = inbound.thread_name(text)
    assert 0 < len(name) <= inbound.MAX_THREAD_NAME
    assert len(inbound.choice_name(text)) <= 100
    for made in (inbound.ask_text(text), inbound.search_text(text), inbound.compile_text(text),
                 inbound.upload_text(text), inbound.strip_mention(text, bot)):
        assert isinstance(made, str)
    try:
        assert inbound.clip_text(text, other, text).startswith("clip ")
    except ValueError as exc:
        assert "is not a time" in str(exc)
