"""The Slack translators take whatever a request body holds: random shapes never raise.

A body without the fields we read (or with a list where Slack sends a string) is None;
a well-formed one is always an Incoming.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack import inbound
from core.incoming import Incoming

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
TEXT = st.text(max_size=40) | st.sampled_from(["<@UBOT> help", "&lt;!channel&gt;", "<!here>", "<@U1|ann>", ""])


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The field as Slack sends it, some random JSON value instead, or left out (None → dropped)."""
    return st.one_of(value, JSON, st.just(None))


def shaped(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({key: maybe(value) for key, value in fields.items()}).map(
        lambda d: {k: v for k, v in d.items() if v is not None})


FILE = shaped({"id": st.text(max_size=6), "name": TEXT, "title": TEXT, "mimetype": st.text(max_size=10),
               "size": st.integers(), "url_private_download": st.text(max_size=20)})
EVENT = shaped({"type": st.sampled_from(["app_mention", "message"]), "channel": st.text(max_size=6),
                "ts": st.text(max_size=8), "thread_ts": st.text(max_size=8), "user": st.text(max_size=6),
                "text": TEXT, "team": st.text(max_size=6), "subtype": st.sampled_from(["file_share", "bot_message"]),
                "bot_id": st.text(max_size=4), "files": st.lists(FILE | JSON, max_size=3)})
BODY = shaped({"type": st.just("event_callback"), "team_id": st.text(max_size=6), "event_id": st.text(max_size=8),
               "event": EVENT | st.lists(EVENT, max_size=2)})


@settings(max_examples=400, deadline=None)
@given(body=BODY | JSON, bot=st.none() | st.text(max_size=5))
def test_no_body_makes_a_translator_raise(body: Any, bot: str | None) -> None:
    for translate in (inbound.app_mention, inbound.message):
        result = translate(body, bot)
        assert result is None or isinstance(result, Incoming)


@settings(max_examples=100, deadline=None)
@given(channel=st.text(min_size=1, max_size=6), ts=st.text(min_size=1, max_size=8),
       event_id=st.text(min_size=1, max_size=8), text=TEXT)
def test_a_well_formed_mention_is_always_an_incoming(channel: str, ts: str, event_id: str, text: str) -> None:
    body = {"team_id": "T1", "event_id": event_id,
            "event": {"type": "app_mention", "channel": channel, "ts": ts, "user": "U1", "text": text}}
    incoming = inbound.app_mention(body, "UBOT")
    assert incoming is not None and incoming.thread.channel_id == channel and incoming.thread.thread_id == ts


def test_events_missing_what_we_need_are_ignored() -> None:
    assert inbound.app_mention({"event_id": "Ev1", "event": {"type": "app_mention", "ts": "1.2"}}, "UBOT") is None
    assert inbound.app_mention({"event_id": "Ev1", "event": [{"channel": "C1"}]}, "UBOT") is None
    assert inbound.app_mention({"event_id": None, "event": {"channel": "C1", "ts": "1.2"}}, "UBOT") is None
    assert inbound.message(["not", "a", "body"], "UBOT") is None
