"""The job card's neutral content: times and spans."""

from __future__ import annotations


def test_spans_round_outwards_so_a_short_hit_never_reads_empty() -> None:
    from core.delivery.job_card import format_span, format_ts

    assert format_span(3.6, 4.4) == "0:03–0:05"
    assert format_span(None, None) == ""
    assert format_ts(75.4) == "1:15" and format_ts(3725) == "1:02:05"


def test_the_status_line_never_says_the_status_twice() -> None:
    from core.delivery.job_card import status_line
    from core.messages import MsgStatus, OutputMessage

    interrupted = OutputMessage(status=MsgStatus.interrupted)
    interrupted.add_action("Interrupted by a restart")
    assert status_line(interrupted) == "⚠️ Interrupted by a restart"
    cancelled = OutputMessage(status=MsgStatus.cancelled)
    for action in ("searching “pricing”", "Cancelled"):
        cancelled.add_action(action)
    assert status_line(cancelled) == "⏹ Cancelled · searching “pricing”"
