"""Cancel / Retry buttons that keep working after a restart.

A button's custom_id carries the job (turn) id: `director:cancel:<turn_id>`. The
button class is a `DynamicItem` registered on the client at start-up, so discord.py
routes a press by matching the custom_id, whichever process posted the message.
The press is deferred at once (the job message itself shows what happens next).
Anyone in a thread can see the buttons, so a press is first checked (`PressCheck`):
only the person who asked, or an admin, may cancel or retry a job.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord

from adapters.discord.mentions import NO_PINGS
from adapters.discord.render import CUSTOM_ID_PREFIX, ButtonSpec, DiscordRender, custom_id
from core.delivery.port import TurnRef

log = logging.getLogger(__name__)

TEMPLATE = rf"{CUSTOM_ID_PREFIX}:(?P<action>cancel|retry):(?P<turn>[0-9A-Za-z_-]{{1,80}})"

_STYLES = {
    "link": discord.ButtonStyle.link,
    "danger": discord.ButtonStyle.danger,
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
}


class TurnControls(Protocol):
    """What a button press may do: the core's `Conversations` fits."""

    async def cancel(self, turn_id: str) -> bool: ...

    async def retry(self, turn_id: str) -> TurnRef | None: ...


PressCheck = Callable[[discord.Interaction[Any], str], Awaitable[str | None]]
"""(press, turn id) → why it is refused, or None when the presser may act."""


def make_turn_button(controls: TurnControls, refusal: PressCheck) -> type[discord.ui.DynamicItem[discord.ui.Button[Any]]]:
    """The persistent Cancel/Retry button class, bound to this process's core."""

    class TurnButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
        def __init__(self, action: str, turn_id: str, *, row: int | None = None) -> None:
            label, style = ("Cancel", discord.ButtonStyle.danger) if action == "cancel" else (
                "Retry", discord.ButtonStyle.primary)
            super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id(action, turn_id)),
                             row=row)
            self.action = action
            self.turn_id = turn_id

        @classmethod
        async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                                 match: re.Match[str]) -> "TurnButton":
            return cls(match["action"], match["turn"])

        async def callback(self, interaction: discord.Interaction[Any]) -> None:
            await interaction.response.defer()
            note = await refusal(interaction, self.turn_id)
            if note:
                log.info("button %s on job %s refused", self.action, self.turn_id)
            else:
                note = await self._act()
            if note:
                try:
                    await interaction.followup.send(note, ephemeral=True, allowed_mentions=NO_PINGS)
                except discord.HTTPException:
                    log.info("could not answer a button press on job %s", self.turn_id)

        async def _act(self) -> str | None:
            """Cancel or retry; a note when there was nothing to do."""
            log.info("button %s on job %s", self.action, self.turn_id)
            if self.action == "cancel":
                done = await controls.cancel(self.turn_id)
                return None if done else "That job has already finished."
            ref = await controls.retry(self.turn_id)
            return None if ref else "That job can't be retried: it is still running or it succeeded."

    return TurnButton


def build_view(rendered: DiscordRender,
               button_cls: type[discord.ui.DynamicItem[discord.ui.Button[Any]]]) -> discord.ui.View | None:
    """The render's rows of buttons as a View (None when there are none)."""
    if not rendered.rows:
        return None
    view = discord.ui.View(timeout=None)
    for row_index, row in enumerate(rendered.rows):
        for spec in row:
            view.add_item(_item(spec, row_index, button_cls))
    return view


def _item(spec: ButtonSpec, row: int,
          button_cls: type[discord.ui.DynamicItem[discord.ui.Button[Any]]]) -> discord.ui.Item[Any]:
    if spec.url:
        return discord.ui.Button(label=spec.label, url=spec.url, style=discord.ButtonStyle.link, row=row)
    assert spec.custom_id is not None
    match = re.fullmatch(TEMPLATE, spec.custom_id)
    if match and not spec.disabled:
        return button_cls(match["action"], match["turn"], row=row)  # type: ignore[call-arg]
    return discord.ui.Button(label=spec.label, custom_id=spec.custom_id, style=_STYLES[spec.style],
                             disabled=spec.disabled, row=row)
