from __future__ import annotations

from adapters.slack import inbound
from tests.fakes.slack_api import BOT_USER_ID, event_body, mention, message


def test_app_mention_keys_and_text() -> None:
    body = event_body(mention("C1", "clip <https://x.test/v|talk> 0-5", ts="111.1", thread_ts="100.0"), event_id="Ev1")
    incoming = inbound.app_mention(body, BOT_USER_ID)  # type: ignore[arg-type]
    assert incoming.thread.thread_id == "100.0" and incoming.thread.workspace_id == "T0001"
    assert incoming.text == "clip talk (https://x.test/v) 0-5"
    assert incoming.event_keys == ["slack:event:Ev1", "slack:msg:T0001:C1:111.1"]


def test_message_filters() -> None:
    def follow(**kw: object) -> bool:
        event = message("C1", kw.pop("text", "hi"), thread_ts=kw.pop("thread_ts", "100.0"), **kw)  # type: ignore[arg-type]
        return inbound.message(event_body(event), BOT_USER_ID) is not None  # type: ignore[arg-type]

    assert follow()
    assert follow(subtype="file_share")
    assert not follow(subtype="message_changed")
    assert not follow(bot_id="B1")
    assert not follow(user=BOT_USER_ID)
    assert not follow(thread_ts=None)
    assert not follow(text=f"<@{BOT_USER_ID}> hi")  # app_mention handles it
