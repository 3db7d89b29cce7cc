"""What a streamed Slack reply is made of: task chunks, answer text, and the blocks at stop.

The answer streams as `markdown_text`; each agent call is a `task_update` chunk; the
results (videos with ▶ Watch, search hits with timestamps, errors) and the controls
(Retry, 👍/👎) are Block Kit blocks given to `chat.stopStream`, so links never depend
on the prose. Everything is clipped to Slack's limits here, as in `render.py`.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.slack.payloads import Block
from adapters.slack.render import (
    MAX_BLOCKS,
    RETRY_ACTION,
    SlackRender,
    card_blocks,
    clip,
    context,
    fit_blocks,
    render,
    section,
    value_button,
)
from adapters.slack.markup import escape
from core.delivery.job_card import buttons, status_line
from core.messages import CardStatus, MsgStatus, OutputMessage, TextCard

FEEDBACK_ACTION = "director_feedback"
MAX_MARKDOWN = 12_000  # per appendStream call
MAX_TASK_TITLE = 120
MAX_TASK_DETAILS = 200
TaskStatus = str  # "pending" | "in_progress" | "complete" | "error"

_PING = re.compile(r"<(?=[!@#])")


def defuse(text: str) -> str:
    """Model text never pings: `<!channel>`, `<@U…>` and `<#C…>` are shown, not resolved."""
    return _PING.sub("<\u200b", text)


def task_title(tool: str) -> str:
    """`index_spoken_words` → "Index spoken words" (the tool is what the person sees as a task)."""
    words = tool.replace("_", " ").strip() or "work"
    return clip(words[0].upper() + words[1:], MAX_TASK_TITLE)


def task_chunk(task_id: str, title: str, status: TaskStatus, details: str = "") -> dict[str, Any]:
    chunk: dict[str, Any] = {"type": "task_update", "id": task_id[:64], "title": title, "status": status}
    if details:
        chunk["details"] = clip(defuse(details), MAX_TASK_DETAILS)
    return chunk


def text_chunk(text: str) -> dict[str, Any]:
    return {"type": "markdown_text", "text": text}


def feedback_block(turn_id: str) -> Block:
    """👍/👎 on the final message; the value carries the turn."""
    def button(emoji: str, label: str, rating: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": emoji}, "accessibility_label": label,
                "value": f"{rating}:{turn_id}"[:2000]}

    return {"type": "context_actions", "block_id": f"director_feedback_{turn_id[:40]}",
            "elements": [{"type": "feedback_buttons", "action_id": FEEDBACK_ACTION,
                          "positive_button": button("👍", "Good answer", "good"),
                          "negative_button": button("👎", "Bad answer", "bad")}]}


def wants_feedback(message: OutputMessage) -> bool:
    return bool(message.turn_id) and message.status in (MsgStatus.success, MsgStatus.error)


def _result_blocks(message: OutputMessage) -> list[list[Block]]:
    """Every card but streamed answer text: results, and errors worth reading."""
    out = []
    for index, card in enumerate(message.content):
        if isinstance(card, TextCard) and card.status is not CardStatus.error:
            continue  # streamed as markdown
        if blocks := card_blocks(card, index):
            out.append(blocks)
    return out


def stop_blocks(message: OutputMessage) -> list[Block]:
    """The blocks given at `chat.stopStream`: a status line unless all went well, the
    results, Retry when it failed, the footer and 👍/👎."""
    head = [] if message.status is MsgStatus.success else [section(f"*{escape(status_line(message))}*")]
    tail: list[Block] = []
    if "retry" in buttons(message) and message.turn_id:
        tail.append({"type": "actions", "block_id": "director_controls",
                     "elements": [value_button("Retry", RETRY_ACTION, message.turn_id, "primary")]})
    if message.turn_id:
        tail.append(context(f"turn `{message.turn_id[:8]}`"))
    if wants_feedback(message):
        tail.append(feedback_block(message.turn_id))
    body = fit_blocks(_result_blocks(message), MAX_BLOCKS - len(head) - len(tail))
    return [*head, *body, *tail]


def card_with_feedback(message: OutputMessage) -> SlackRender:
    """The edited card of a reply that left its stream (expired, or Stop pressed), with 👍/👎 at the end."""
    rendered = render(message)
    if not message.status.is_final or not wants_feedback(message) or len(rendered.blocks) >= MAX_BLOCKS:
        return rendered
    return SlackRender(text=rendered.text, blocks=[*rendered.blocks, feedback_block(message.turn_id)])


def unsent_text(message: OutputMessage, sent: dict[str, int]) -> list[str]:
    """Answer text not streamed yet (a model that does not stream adds its answer whole)."""
    out = []
    for card in message.content:
        if isinstance(card, TextCard) and card.status is not CardStatus.error and card.text:
            done = sent.get(card.id, 0)
            if len(card.text) > done:
                out.append(card.text[done:] if done else ("\n\n" + card.text if sent else card.text))
                sent[card.id] = len(card.text)
    return out


def progress_details(message: OutputMessage, tool: str) -> str:
    """What an agent last said about its work ("indexing spoken words… 40%")."""
    for card in reversed(message.content):
        if isinstance(card, TextCard) and card.agent_name == tool and card.status is CardStatus.progress:
            return card.status_message
    return ""
