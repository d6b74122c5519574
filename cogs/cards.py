"""Link cards: a message per link with Add, Remove and Random buttons and a live tally.

Buttons are dynamic items: their custom id carries the link's id (never its token), so any card,
old or new, works after a restart without keeping views in memory.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

import discord

from cogs.render import signed_duration
from services.cards import CardService, CardSummary
from services.links import RemovedLink
from services.markup import duration, timestamp
from storage.models import ChannelLink, LinkCard, LinkTally, VoteInterval
from tracker.models import GameResult, Operation, VoteType

if TYPE_CHECKING:
    from bot import CtVoteBot

log = logging.getLogger(__name__)

BUTTONS = (
    (VoteType.ADD, "Add", discord.ButtonStyle.success),
    (VoteType.SUB, "Remove", discord.ButtonStyle.danger),
    (VoteType.RAND, "Random", discord.ButtonStyle.secondary),
)
NO_PINGS = discord.AllowedMentions.none()


class CardVoteButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"ctvote:vote:(?P<link_id>[0-9]{1,19}):(?P<kind>add|sub|rand)",
):
    def __init__(self, link_id: int, vote_type: VoteType, *, disabled: bool = False) -> None:
        label, style = next((label, style) for kind, label, style in BUTTONS if kind is vote_type)
        super().__init__(
            discord.ui.Button(
                label=label,
                style=style,
                custom_id=f"ctvote:vote:{link_id}:{vote_type.value}",
                disabled=disabled,
            )
        )
        self.link_id = link_id
        self.vote_type = vote_type

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> CardVoteButton:
        return cls(int(match["link_id"]), VoteType(match["kind"]))

    async def callback(self, interaction: discord.Interaction[CtVoteBot]) -> None:
        """Hand the press to the Voting cog, which owns every way of voting."""
        interaction.client.dispatch("card_vote", interaction, self.link_id, self.vote_type)


def card_view(link_id: int, *, disabled: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for vote_type, _, _ in BUTTONS:
        view.add_item(CardVoteButton(link_id, vote_type, disabled=disabled))
    return view


def _count(total: int, identified: int, anonymous: int) -> str:
    votes = "1 vote" if total == 1 else f"{total} votes"
    return f"{votes} ({identified} identified, {anonymous} anonymous)"


def _last_result(tally: LinkTally) -> str:
    last = tally.last_vote
    if last is None:
        return "No vote yet."
    result = GameResult(
        operation=Operation(last.operation) if last.operation in ("ADD", "SUB") else None,
        seconds=last.seconds,
    )
    change = signed_duration(result) or "played"
    multiplier = f" ×{last.multiplier:g}" if last.multiplier is not None else ""
    who = "anonymous" if last.anonymous else f"<@{last.user_id}>"
    penalty = " (penalty)" if last.penalty else ""
    return f"{change}{multiplier}{penalty}, {who}, {timestamp(last.created_at, 'R')}"


def card_embed(summary: CardSummary) -> discord.Embed:
    link, tally = summary.link, summary.tally
    session = (
        f"Session {link.session_id}" if link.session_id else "Session: known after the first vote"
    )
    embed = discord.Embed(title=f"Vote on link “{link.name}”", description=session)
    embed.add_field(
        name="Today",
        value=_count(
            tally.identified_today + tally.anonymous_today,
            tally.identified_today,
            tally.anonymous_today,
        ),
        inline=False,
    )
    embed.add_field(
        name="In total",
        value=_count(tally.identified + tally.anonymous, tally.identified, tally.anonymous),
        inline=False,
    )
    added = f"+{duration(tally.seconds_added)} added" if tally.seconds_added else "none added"
    removed = (
        f"−{duration(tally.seconds_removed)} removed" if tally.seconds_removed else "none removed"
    )
    embed.add_field(name="Time", value=f"{added} · {removed}", inline=False)
    embed.add_field(name="Last result", value=_last_result(tally), inline=False)
    end = summary.scheduled_end
    embed.add_field(
        name="Scheduled end",
        value=f"{timestamp(end, 'F')} ({timestamp(end, 'R')})" if end else "Not known yet.",
        inline=False,
    )
    embed.set_footer(text=f"Votes through this bot · {_rules(link)}")
    return embed


def _rules(link: ChannelLink) -> str:
    interval = "one vote per 24 hours" if link.interval is VoteInterval.DAILY else "one vote ever"
    anonymous = "anonymous votes share one" if link.anonymous_allowed else "connected accounts only"
    return f"{interval}, {anonymous}"


def removed_embed(link: ChannelLink) -> discord.Embed:
    return discord.Embed(
        title=f"Link “{link.name}” was removed",
        description="This card no longer takes votes.",
    )


class CardBoard:
    """Posts cards and keeps them current, editing each at most once per refresh window.

    A burst of votes on one link becomes one edit per card per window, which keeps the bot within
    Discord's rate limits for message edits.
    """

    def __init__(self, bot: CtVoteBot, cards: CardService, refresh_seconds: float) -> None:
        self._bot = bot
        self._cards = cards
        self._refresh_seconds = refresh_seconds
        self._pending: dict[int, asyncio.Task[None]] = {}

    async def post(self, link: ChannelLink) -> LinkCard:
        summary = await self._cards.summary_of(link)
        channel = self._bot.get_partial_messageable(link.channel_id, guild_id=link.guild_id)
        message = await channel.send(
            embed=card_embed(summary), view=card_view(link.id), allowed_mentions=NO_PINGS
        )
        return await self._cards.remember(link, link.channel_id, message.id)

    def refresh(self, link_id: int) -> None:
        """Schedule an edit of the link's cards; votes within the window share it."""
        if link_id not in self._pending:
            task = asyncio.create_task(self._refresh_later(link_id), name=f"card refresh {link_id}")
            self._pending[link_id] = task

    async def _refresh_later(self, link_id: int) -> None:
        try:
            await asyncio.sleep(self._refresh_seconds)
        finally:
            self._pending.pop(link_id, None)
        cards = await self._cards.cards(link_id)
        summary = await self._cards.summary(link_id) if cards else None  # no card: no tally
        if summary is None:
            return
        for card in cards:
            await self._edit(card, embed=card_embed(summary), view=card_view(link_id))

    async def disable(self, removed: RemovedLink) -> None:
        for card in removed.cards:
            await self._edit(
                card,
                embed=removed_embed(removed.link),
                view=card_view(removed.link.id, disabled=True),
            )

    async def _edit(self, card: LinkCard, *, embed: discord.Embed, view: discord.ui.View) -> None:
        channel = self._bot.get_partial_messageable(card.channel_id)
        try:
            await channel.get_partial_message(card.message_id).edit(
                embed=embed, view=view, allowed_mentions=NO_PINGS
            )
        except discord.NotFound:
            log.info("card message %d is gone; forgetting it", card.message_id)
            await self._cards.forget(card)
        except discord.HTTPException as error:
            log.warning("could not edit card message %d: HTTP %s", card.message_id, error.status)
        else:
            self._bot.metrics.card_edits.inc()

    async def close(self) -> None:
        for task in list(self._pending.values()):
            task.cancel()
        await asyncio.gather(*self._pending.values(), return_exceptions=True)
