"""The observer against the fake Slack API, through the real slack_sdk client."""

from __future__ import annotations

import asyncio

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.delivery import DeliveryOptions, SlackPort
from core.delivery.port import TurnRef
from core.incoming import ThreadKey
from core.messages import MsgStatus, OutputMessage, TextCard
from adapters.slack.app import web_client
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlack, Scripted

CHANNEL = "C100"
THREAD = "1600000000.000100"


def turn(output_ref: dict[str, str] | None = None, turn_id: str = "turn-1") -> TurnRef:
    thread = ThreadKey(platform="slack", workspace_id=TEAM_ID, channel_id=CHANNEL, thread_id=THREAD)
    return TurnRef(turn_id=turn_id, session_id="s1", thread=thread, output_ref=output_ref)


class Refs:
    def __init__(self) -> None:
        self.saved: list[dict[str, str]] = []

    async def __call__(self, ref: dict[str, str]) -> None:
        self.saved.append(dict(ref))


async def test_fifty_updates_in_a_second_make_at_most_three_edits(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    port = SlackPort(slack_client, DeliveryOptions(min_interval=0.4))
    refs = Refs()
    observer = port.observer_for(turn(), refs)
    message = OutputMessage(turn_id="turn-1")
    message.add_observer(observer)
    message.push_update()  # queued: posts the card
    message.status = MsgStatus.progress
    for i in range(50):
        message.add_action(f"step {i}")
        message.push_update()
        await asyncio.sleep(0.02)
    message.status = MsgStatus.success
    message.add_card(TextCard(text="**all done**"))
    await message.publish()

    [card] = fake_slack.thread(CHANNEL, THREAD)
    assert fake_slack.calls("chat.postMessage") == 1
    assert 1 <= card.edits <= 3
    assert "*all done*" in card.all_text() and "Done" in card.text
    assert refs.saved[0] == {"channel": CHANNEL, "ts": card.ts}


async def test_rate_limited_edit_still_lands_the_final_state(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=fake_slack.api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    port = SlackPort(client, DeliveryOptions(min_interval=0.05))
    observer = port.observer_for(turn(), Refs())
    message = OutputMessage(turn_id="turn-1")
    message.push_update()
    observer.on_update(message)
    await fake_slack.wait_until(lambda: fake_slack.calls("chat.postMessage"))
    fake_slack.rate_limit("chat.update", retry_after=0, times=3)  # more than the client retries
    message.status = MsgStatus.success
    message.add_card(TextCard(text="final words"))
    await observer.on_publish(message)
    [card] = fake_slack.thread(CHANNEL, THREAD)
    assert "final words" in card.all_text()
    assert fake_slack.calls("chat.update") == 4


async def test_a_stored_reference_is_edited_not_posted_again(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    first = await slack_client.chat_postMessage(channel=CHANNEL, thread_ts=THREAD, text="old card")
    ref = {"channel": CHANNEL, "ts": first["ts"]}
    observer = SlackPort(slack_client, DeliveryOptions(min_interval=0)).observer_for(turn(ref), Refs())
    message = OutputMessage(turn_id="turn-1", status=MsgStatus.interrupted)
    await observer.on_publish(message)
    [card] = fake_slack.thread(CHANNEL, THREAD)
    assert "Interrupted" in card.text
    assert card.button("director_retry")["value"] == "turn-1"
    assert fake_slack.calls("chat.postMessage") == 1


async def test_a_lost_card_is_posted_once_with_the_final_state(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.fail("chat.postMessage", "internal_error")
    observer = SlackPort(slack_client, DeliveryOptions(min_interval=0)).observer_for(turn(), Refs())
    message = OutputMessage(turn_id="turn-1")
    observer.on_update(message)
    message.status = MsgStatus.success
    message.add_card(TextCard(text="result"))
    await observer.on_publish(message)
    cards = fake_slack.thread(CHANNEL, THREAD)
    assert len(cards) == 1 and "result" in cards[0].all_text()


async def finish_a_turn(client: AsyncWebClient) -> None:
    observer = SlackPort(client, DeliveryOptions(min_interval=0)).observer_for(turn(), Refs())
    message = OutputMessage(turn_id="turn-1")
    message.add_observer(observer)
    message.push_update()
    await asyncio.gather(*observer.pending())
    message.status = MsgStatus.success
    message.add_card(TextCard(text="result"))
    await message.publish()


async def test_a_post_whose_answer_was_lost_is_not_posted_again(fake_slack: FakeSlack) -> None:
    """Slack posted the card but answered 500: the client does not retry the post, and the
    final state is posted once at the end (one stale card at worst, never a storm)."""
    fake_slack.script("chat.postMessage", Scripted(status=500, lost=True))
    await finish_a_turn(web_client(BOT_TOKEN, fake_slack.api_url))
    stale, final = fake_slack.thread(CHANNEL, THREAD)
    assert "Queued" in stale.text and stale.edits == 0
    assert "Done" in final.versions[0][0] and "result" in final.all_text()
    assert fake_slack.calls("chat.postMessage") == 2


async def test_a_rate_limited_post_is_retried_by_the_client(fake_slack: FakeSlack) -> None:
    fake_slack.rate_limit("chat.postMessage", retry_after=0)
    await finish_a_turn(web_client(BOT_TOKEN, fake_slack.api_url))
    [card] = fake_slack.thread(CHANNEL, THREAD)
    assert "result" in card.all_text() and card.edits >= 1
    assert fake_slack.calls("chat.postMessage") == 2


async def test_inline_clip_without_files_write_is_skipped_quietly(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    from aiohttp import web

    from core.messages import VideoCard, VideoData

    async def clip(request: web.Request) -> web.Response:
        return web.Response(body=b"\x00" * 100, content_type="video/mp4")

    served = web.Application()
    served.router.add_get("/clip.mp4", clip)
    runner = web.AppRunner(served)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/clip.mp4"  # type: ignore[union-attr]
    try:
        for scopes_ok in (False, True):
            if not scopes_ok:
                fake_slack.token_scopes["xoxb-test"].discard("files:write")
            else:
                fake_slack.token_scopes["xoxb-test"].add("files:write")
            refs = Refs()
            observer = SlackPort(slack_client, DeliveryOptions(min_interval=0)).observer_for(
                turn(turn_id=f"t{scopes_ok}"), refs)
            message = OutputMessage(turn_id=f"t{scopes_ok}", status=MsgStatus.success)
            message.add_card(VideoCard(video=VideoData(id="v1", name="clip", player_url="https://p.test/w",
                                                       download_url=url, size_bytes=100)))
            await observer.on_publish(message)
            assert bool(fake_slack.uploads) is scopes_ok
        assert refs.saved[-1]["uploads"] == "v1"
    finally:
        await runner.cleanup()


async def test_the_final_state_lands_even_if_storing_the_card_reference_fails(
        fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    async def broken_store(ref: dict[str, str]) -> None:
        raise ConnectionError("the database went away")

    port = SlackPort(slack_client, DeliveryOptions(min_interval=0.01))
    message = OutputMessage(turn_id="turn-1")
    message.add_observer(port.observer_for(turn(), broken_store))
    message.push_update()  # posts the card; storing its reference fails
    await fake_slack.wait_until(lambda: fake_slack.thread(CHANNEL, THREAD))
    message.status = MsgStatus.success
    message.add_card(TextCard(text="the answer"))
    await message.publish()
    [card] = fake_slack.thread(CHANNEL, THREAD)
    assert "Done" in card.text and "the answer" in card.all_text()
    assert fake_slack.calls("chat.postMessage") == 1
