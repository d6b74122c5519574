"""Link cards: a message per link with Add, Remove, Random and Stats buttons and a live tally.

Buttons are dynamic items: their custom id carries the link's id (never its token), so any card,
old or new, works after a restart without keeping views in memory.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from discord_layer.host import host_of
from discord_layer.render import A_MEMBER_WITHIN, SHARED_VOTE, amount
from discord_layer.texts import Texts
from discord_layer.tree import refused_while_stopping, report_error
from i18n.message import Duration, Member, Message, Moment, Number, Term, msg, msg_n
from services.cards import CardService, CardSummary
from services.commands import HELP_VOTING
from services.links import RemovedLink
from services.locales import LocaleService
from services.voting import LinkById
from storage.models import ChannelLink, LinkCard, VoteInterval
from tracker.models import Operation, VoteType

if TYPE_CHECKING:
    from discord_layer.host import Host

log = logging.getLogger(__name__)

BUTTONS = (
    (VoteType.ADD, msg("Add time"), discord.ButtonStyle.success),
    (VoteType.SUB, msg("Remove time"), discord.ButtonStyle.danger),
    (VoteType.RAND, msg("Random"), discord.ButtonStyle.secondary),
)
NO_PINGS = discord.AllowedMentions.none()
Render = Callable[[Message], str]


class CardVoteButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"ctvote:vote:(?P<link_id>[0-9]{1,19}):(?P<kind>add|sub|rand)",
):
    def __init__(
        self, link_id: int, vote_type: VoteType, label: str = "", *, disabled: bool = False
    ) -> None:
        style = next(style for kind, _, style in BUTTONS if kind is vote_type)
        super().__init__(
            discord.ui.Button(
                label=label or vote_type.value,
                style=style,
                custom_id=f"ctvote:vote:{link_id}:{vote_type.value}",
                disabled=disabled,
            )
        )
        self.link_id = link_id
        self.vote_type = vote_type

    @classmethod
    # A DynamicItem[Button] is handed its Button; discord.py types the argument as any Item.
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> CardVoteButton:
        return cls(int(match["link_id"]), VoteType(match["kind"]), item.label or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        """The same vote as `/vote`'s, through the one vote flow."""
        if await refused_while_stopping(interaction):
            return
        try:
            await host_of(interaction).votes.cast(
                interaction, LinkById(self.link_id), self.vote_type
            )
        except Exception as error:  # a button's errors bypass the command tree's handler
            await report_error(interaction, error)


class CardStatsButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"ctvote:stats:(?P<link_id>[0-9]{1,19})",
):
    """Answers like `/stats` for the card's link, privately."""

    def __init__(self, link_id: int, label: str = "", *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or "Stats",
                style=discord.ButtonStyle.primary,
                custom_id=f"ctvote:stats:{link_id}",
                disabled=disabled,
            )
        )
        self.link_id = link_id

    @classmethod
    # A DynamicItem[Button] is handed its Button; discord.py types the argument as any Item.
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> CardStatsButton:
        return cls(int(match["link_id"]), item.label or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        if await refused_while_stopping(interaction):
            return
        try:
            await host_of(interaction).stats.card_pressed(interaction, self.link_id)
        except Exception as error:  # a button's errors bypass the command tree's handler
            await report_error(interaction, error)


# TRANSLATORS: the label of a link card's button that shows the link's statistics.
STATS_LABEL = msg("Stats")


def card_view(link_id: int, render: Render, *, disabled: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for vote_type, label, _ in BUTTONS:
        view.add_item(CardVoteButton(link_id, vote_type, render(label), disabled=disabled))
    view.add_item(CardStatsButton(link_id, render(STATS_LABEL), disabled=disabled))
    return view


def vote_count(total: int, identified: int, anonymous: int) -> Message:
    return msg_n(
        "{count} vote ({identified} with an account, {anonymous} shared)",
        "{count} votes ({identified} with an account, {anonymous} shared)",
        total,
        identified=Number(identified),
        anonymous=Number(anonymous),
    )


def _last_voter(summary: CardSummary) -> Member | Message:
    last = summary.tally.last_vote
    if last is not None and last.anonymous:
        return SHARED_VOTE
    if last is None or last.user_id is None or not summary.last_voter_named:
        return A_MEMBER_WITHIN
    return Member(last.user_id)


def _last_result(summary: CardSummary) -> Message:
    last = summary.tally.last_vote
    if last is None:
        return msg("No vote yet.")
    operation = Operation(last.operation) if last.operation in ("ADD", "SUB") else None
    facts = {
        "amount": amount(operation, last.seconds, last.multiplier, bold=False),
        "who": _last_voter(summary),
        "when": Moment(last.created_at, "relative"),
    }
    if last.penalty:
        return msg("{amount} (penalty), {who}, {when}", **facts)
    return msg("{amount}, {who}, {when}", **facts)


TIME = msg("Time")
SCHEDULED_END = msg("Scheduled end")


def time_moved(seconds_added: int, seconds_removed: int) -> Message:
    """`+5h 10m added · −45m removed`: played votes only."""
    added = (
        msg("{duration} added", duration=Duration(seconds_added, "+"))
        if seconds_added
        else msg("none added")
    )
    removed = (
        msg("{duration} removed", duration=Duration(seconds_removed, "-"))
        if seconds_removed
        else msg("none removed")
    )
    return msg("{added} · {removed}", added=added, removed=removed)


def scheduled_end(end: datetime | None) -> Message:
    if end is None:
        return msg("Not known yet.")
    return msg("{end} ({relative})", end=Moment(end), relative=Moment(end, "relative"))


def card_embed(summary: CardSummary, render: Render) -> discord.Embed:
    link, tally = summary.link, summary.tally
    session = (
        msg("Session {session}", session=link.session_id)
        if link.session_id
        else msg("Session: known after the first vote")
    )
    embed = discord.Embed(
        title=render(msg("Vote on link “{name}”", name=Term(link.name))),
        description=render(session),
    )
    today = vote_count(
        tally.identified_today + tally.anonymous_today,
        tally.identified_today,
        tally.anonymous_today,
    )
    total = vote_count(tally.identified + tally.anonymous, tally.identified, tally.anonymous)
    fields = (
        (msg("Today"), today),
        (msg("In total"), total),
        (TIME, time_moved(tally.seconds_added, tally.seconds_removed)),
        (msg("Last result"), _last_result(summary)),
        (SCHEDULED_END, scheduled_end(summary.scheduled_end)),
        # Discord shows no mentions in an embed's footer: the help link is the last field.
        (
            msg("New here?"),
            msg(
                "{help} explains how votes count, the shared vote and your own vote.",
                help=HELP_VOTING,
            ),
        ),
    )
    for name, value in fields:
        embed.add_field(name=render(name), value=render(value), inline=False)
    embed.set_footer(text=render(msg("Votes through this bot · {rules}", rules=_rules(link))))
    return embed


def _rules(link: ChannelLink) -> Message:
    interval = (
        msg("one vote per 24 hours")
        if link.interval is VoteInterval.DAILY
        else msg("one vote ever")
    )
    voters = (
        msg("one shared vote without an account")
        if link.anonymous_allowed
        else msg("connected accounts only")
    )
    return msg("{interval}, {voters}", interval=interval, voters=voters)


def removed_embed(link: ChannelLink, render: Render) -> discord.Embed:
    return discord.Embed(
        title=render(msg("Link “{name}” was removed", name=Term(link.name))),
        description=render(msg("This card no longer takes votes.")),
    )


class CardBoard:
    """Posts cards and keeps them current, editing each at most once per refresh window.

    A burst of votes on one link becomes one edit per card per window, which keeps the bot within
    Discord's rate limits for message edits.
    """

    def __init__(
        self,
        bot: Host,
        cards: CardService,
        locales: LocaleService,
        texts: Texts,
        refresh_seconds: float,
    ) -> None:
        self._bot = bot
        self._cards = cards
        self._locales = locales
        self._texts = texts
        self._refresh_seconds = refresh_seconds
        self._pending: dict[int, asyncio.Task[None]] = {}

    async def post(self, link: ChannelLink) -> LinkCard:
        summary = await self._cards.summary_of(link)
        render = await self._renderer(link)
        channel = self._bot.get_partial_messageable(link.channel_id, guild_id=link.guild_id)
        message = await channel.send(
            embed=card_embed(summary, render),
            view=card_view(link.id, render),
            allowed_mentions=NO_PINGS,
        )
        return await self._cards.remember(link, link.channel_id, message.id)

    def refresh(self, link_id: int) -> None:
        """Schedule an edit of the link's cards; votes within the window share it, also the votes
        other processes receive (the window is claimed in the database)."""
        if link_id not in self._pending:
            task = asyncio.create_task(self._refresh_later(link_id), name=f"card refresh {link_id}")
            self._pending[link_id] = task

    async def _refresh_later(self, link_id: int) -> None:
        try:
            window = timedelta(seconds=self._refresh_seconds)
            if not await self._cards.claim_refresh(link_id, window):
                return
            await asyncio.sleep(self._refresh_seconds)
        finally:
            self._pending.pop(link_id, None)
        cards = await self._cards.cards(link_id)
        summary = await self._cards.summary(link_id) if cards else None  # no card: no tally
        if summary is None:
            return
        render = await self._renderer(summary.link)
        for card in cards:
            await self._edit(
                card, embed=card_embed(summary, render), view=card_view(link_id, render)
            )

    async def disable(self, removed: RemovedLink) -> None:
        render = await self._renderer(removed.link)
        for card in removed.cards:
            await self._edit(
                card,
                embed=removed_embed(removed.link, render),
                view=card_view(removed.link.id, render, disabled=True),
            )

    async def _renderer(self, link: ChannelLink) -> Render:
        """Cards speak the server's public language: its choice, else Discord's as stored with
        the link (a card edit has no interaction to ask)."""
        language = await self._locales.public_locale(link.guild_id, link.locale)
        return lambda message: self._texts.render(message, language)

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
