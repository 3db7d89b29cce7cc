"""What the bot's messages may ping: nobody.

Job messages, replies and notes quote what people typed and what a model wrote;
`@everyone` or `<@&role>` in them must show as text, never notify. discord.py
merges a call's `allowed_mentions` with the client's default: both are set.
"""

from __future__ import annotations

import discord

NO_PINGS = discord.AllowedMentions.none()
