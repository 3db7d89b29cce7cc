"""The fake's streaming methods answer the real slack_sdk as Slack documents."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.messages.chunk import MarkdownTextChunk, TaskUpdateChunk
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import TEAM_ID, FakeSlack


async def start(client: AsyncWebClient, channel: str = "C1") -> str:
    response = await client.chat_startStream(channel=channel, thread_ts="1.0", recipient_user_id="U1",
                                             recipient_team_id=TEAM_ID, task_display_mode="timeline")
    return str(response["ts"])


async def test_a_stream_records_text_tasks_and_final_blocks(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    ts = await start(slack_client)
    await slack_client.chat_appendStream(channel="C1", ts=ts, chunks=[
        TaskUpdateChunk(id="t1", title="search", status="in_progress", details="looking… 40%")])
    await slack_client.chat_appendStream(channel="C1", ts=ts, markdown_text="Hello ",
                                         chunks=[MarkdownTextChunk(text="world")])
    await slack_client.chat_stopStream(channel="C1", ts=ts, blocks=[{"type": "divider"}])
    message = fake_slack.messages[("C1", ts)]
    assert message.text == "Hello world"
    assert message.tasks()["t1"]["details"] == "looking… 40%"
    assert message.blocks == [{"type": "divider"}] and not message.streaming


@pytest.mark.parametrize("case", ["no_recipient", "dm_refused", "too_long"])
async def test_refusals(fake_slack: FakeSlack, slack_client: AsyncWebClient, case: str) -> None:
    with pytest.raises(SlackApiError) as caught:
        if case == "no_recipient":
            await slack_client.chat_startStream(channel="C1", thread_ts="1.0")
        elif case == "dm_refused":
            fake_slack.no_stream_channels.add("C9")
            await start(slack_client, "C9")
        else:
            await slack_client.chat_appendStream(channel="C1", ts=await start(slack_client), markdown_text="x" * 12_001)
    expected = {"no_recipient": "invalid_arguments", "dm_refused": "method_not_supported_for_channel_type",
                "too_long": "msg_too_long"}[case]
    assert caught.value.response["error"] == expected


async def test_stop_pressed_and_expiry(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    now = [0.0]
    fake_slack.clock = lambda: now[0]
    stopped, expired = await start(slack_client), await start(slack_client)
    fake_slack.press_stop("C1", stopped)
    with pytest.raises(SlackApiError) as caught:
        await slack_client.chat_appendStream(channel="C1", ts=stopped, markdown_text="more")
    assert caught.value.response["error"] == "stopped_by_user"
    now[0] = 301.0
    with pytest.raises(SlackApiError) as caught:
        await slack_client.chat_stopStream(channel="C1", ts=expired)
    assert caught.value.response["error"] == "message_not_in_streaming_state"
    await slack_client.chat_update(channel="C1", ts=expired, text="finished", blocks=[])
    assert fake_slack.messages[("C1", expired)].text == "finished"


async def test_set_status(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    await slack_client.assistant_threads_setStatus(channel_id="C1", thread_ts="1.0", status="is indexing…",
                                                   loading_messages=["Reading", "Indexing"])
    assert fake_slack.statuses == [{"channel_id": "C1", "thread_ts": "1.0", "status": "is indexing…",
                                    "loading_messages": ["Reading", "Indexing"]}]
