"""Transcript pages and summaries (map-reduce with an LLM, extractive without)."""

from __future__ import annotations

import pytest

from core.agents.summarize import SummarizeAgent
from core.agents.transcript import TranscriptAgent, paginate, timestamped_lines
from core.messages import TextCard
from tests.core.agents.conftest import ContextFactory, Talks, summary_llm

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_transcript_pages_say_which_page_of_how_many(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    segments = await ctx.session.collection.transcript(talks.review_id)
    pages = paginate(timestamped_lines(segments), 60)
    assert len(pages) >= 2
    agent = TranscriptAgent(page_chars=60)

    first = await agent.safe_call(ctx, {"video": "quarterly review"})
    second = await agent.safe_call(ctx, {"video": "quarterly review", "page": 2})
    beyond = await agent.safe_call(ctx, {"video": "quarterly review", "page": len(pages) + 1})

    assert first.succeeded and f"page 1 of {len(pages)}" in first.message
    assert pages[0] in first.message and "page 2" in first.message
    assert second.succeeded and pages[1] in second.message
    assert not beyond.succeeded and f"only {len(pages)} page(s)" in beyond.message
    cards = ctx.output.cards_of(TextCard)
    assert pages[0] in cards[0].text and pages[1] in cards[1].text


async def test_transcript_has_timestamps_and_a_range(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    whole = await TranscriptAgent().safe_call(ctx, {"video": talks.review_id})
    part = await TranscriptAgent().safe_call(ctx, {"video": talks.review_id, "start": 3})

    assert whole.succeeded and "page 1 of 1" in whole.message and "[0:00]" in whole.message
    assert "pricing" in whole.message.lower()
    assert part.succeeded and "after 0:03" in part.message
    assert "[0:00]" not in part.message


async def test_a_transcript_range_past_the_end_says_so(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    result = await TranscriptAgent().safe_call(ctx, {"video": talks.review_id, "start": 600, "end": 660})

    assert not result.succeeded
    assert "'quarterly review' is only 0:" in result.message and "10:00 is past its end" in result.message
    assert not ctx.output.content


async def test_offline_summary_is_extractive_and_says_so(talks_ctx: ContextFactory, talks: Talks) -> None:
    ctx = talks_ctx()
    result = await SummarizeAgent().safe_call(ctx, {"video": "quarterly review"})

    assert result.succeeded, result.message
    assert "Extractive summary" in result.message and "no LLM is configured" in result.message
    assert "[0:" in result.message
    assert ctx.output.cards_of(TextCard)[-1].text == result.message
    assert result.data["kind"] == "extractive"


async def test_llm_summary_of_a_short_transcript_is_one_call(talks_ctx: ContextFactory, talks: Talks) -> None:
    llm = summary_llm()
    ctx = talks_ctx(llm=llm)
    result = await SummarizeAgent().safe_call(ctx, {"video": "quarterly review", "focus": "pricing"})

    assert result.succeeded, result.message
    assert len(llm.calls) == 1
    assert "Focus on: pricing" in (llm.calls[0][-1].content or "")
    assert "summary 2" in result.message and result.data["kind"] == "generated"


async def test_llm_summary_of_a_long_transcript_is_map_reduce(talks_ctx: ContextFactory, talks: Talks) -> None:
    llm = summary_llm()
    ctx = talks_ctx(llm=llm)
    segments = await ctx.session.collection.transcript(talks.review_id)
    chunks = paginate(timestamped_lines(segments), 50)
    assert len(chunks) >= 2

    result = await SummarizeAgent(chunk_chars=50).safe_call(ctx, {"video": "quarterly review"})

    assert result.succeeded, result.message
    assert len(llm.calls) == len(chunks) + 1  # one per chunk, then one to combine
    combine_prompt = llm.calls[-1][-1].content or ""
    assert f"Part 1 of {len(chunks)}" in combine_prompt and f"Part {len(chunks)} of {len(chunks)}" in combine_prompt
    partial_prompts = [call[-1].content or "" for call in llm.calls[:-1]]
    assert sorted(p.split("\n")[0] for p in partial_prompts) == sorted(
        f"Video: quarterly review (part {n} of {len(chunks)})" for n in range(1, len(chunks) + 1)
    )
