"""Small pieces of Discord message markup shared by every answer the bot writes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import discord

# Discord renders timestamps for 0 ≤ t < 8.64e15 ms; beyond a sane range we print the date instead.
_MAX_TIMESTAMP = datetime(9999, 12, 31, tzinfo=UTC).timestamp()
# Mention characters not escaped yet (an even number of backslashes before them): escape_markdown
# already escapes a leading `#` or `>`, and a second backslash would show as a stray `\`.
_NOT_ARITHMETIC = re.compile(r"[^0-9+\-*/×=() .,]")
_MENTION_LIKE = re.compile(r"(?<!\\)((?:\\\\)*)([@#<>])")


def timestamp(moment: datetime, style: str = "F") -> str:
    """A Discord timestamp, which every member sees in their own time zone."""
    seconds = int(moment.timestamp())
    if not 0 <= seconds < _MAX_TIMESTAMP:
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<t:{seconds}:{style}>"


def plain(text: str, *, limit: int = 200) -> str:
    """Text from members or the tracker, made inert: no markdown, no mentions, bounded length."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    if len(cleaned) > limit:  # cut before escaping, so no escape loses its character
        cleaned = cleaned[: limit - 1] + "…"
    cleaned = discord.utils.escape_markdown(discord.utils.escape_mentions(cleaned))
    return _MENTION_LIKE.sub(r"\1\\\2", cleaned) or "…"


def arithmetic(text: str, *, limit: int = 60) -> str:
    """A calculation for a code span, where escapes would show: only arithmetic characters stay."""
    return _NOT_ARITHMETIC.sub("", text)[:limit].strip()


def mask(secret: str) -> str:
    """Enough of a token for a moderator to tell two apart, never enough to use it."""
    return f"…{secret[-4:]}" if len(secret) > 8 else "…"
