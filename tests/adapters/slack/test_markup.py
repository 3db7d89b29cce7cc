from __future__ import annotations

import pytest

from adapters.slack.markup import decode, markdown_to_mrkdwn, mentions, strip_mention


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("hi <@U2|ann> and <@U3>", "hi @ann and @U3"),
        ("in <#C1|general> or <#C2>", "in #general or #C2"),
        ("<!here> <!channel> <!subteam^S1|@devs>", "@here @channel @devs"),
        ("upload <https://a.test/v.mp4>", "upload https://a.test/v.mp4"),
        ("<http://b.test|b.test> <mailto:x@y.z|x@y.z>", "http://b.test mailto:x@y.z"),
        ("see <https://c.test/x|the clip>", "see the clip (https://c.test/x)"),
        ("a &amp; b &lt;c&gt;", "a & b <c>"),
        ("&lt;@U1&gt; stays text", "<@U1> stays text"),
    ],
)
def test_decode(raw: str, plain: str) -> None:
    assert decode(raw) == plain


def test_strip_mention_only_removes_the_bot() -> None:
    assert strip_mention("<@UBOT>  clip  <@U2> 0-5", "UBOT") == "clip <@U2> 0-5"
    assert strip_mention("<@UBOT|director> help", "UBOT") == "help"
    assert mentions("hey <@UBOT>", "UBOT") and not mentions("hey <@U2>", "UBOT")


def test_markdown_to_mrkdwn() -> None:
    md = "## Results\n**bold**, *it*, ~~no~~ and [the clip](https://x.test/w?a=1&b=2)\n- one\n`**code**` 1 < 2"
    assert markdown_to_mrkdwn(md) == (
        "*Results*\n*bold*, _it_, ~no~ and <https://x.test/w?a=1&b=2|the clip>\n• one\n`**code**` 1 &lt; 2"
    )


def test_a_link_cannot_smuggle_a_token_through_its_url_or_label() -> None:
    from adapters.slack.markup import link

    made = link("https://x.test/<!channel>|<@U1>", "<!here>")
    assert made == "<https://x.test/%3C!channel%3E%7C%3C@U1%3E|&lt;!here&gt;>"
