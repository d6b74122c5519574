"""A link's statistics and chart, however asked for: `/stats` or a card's Stats button."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Literal

import discord

from discord_layer.cards import SCHEDULED_END, TIME, scheduled_end, time_moved, vote_count
from discord_layer.charts import Chart, ChartRenderer, ChartTexts
from discord_layer.render import public_name
from discord_layer.replies import NO_PINGS, actor_from, reply_privately, texts_of
from discord_layer.tree import acknowledge_privately
from i18n.message import Duration, Message, Name, Term, msg, msg_n
from services.charts import ChartLimit
from services.history import HistoryService, Period, StatsReport
from services.voting import LinkById, LinkRef

CHART_FILE = "stats.png"
Render = Callable[[Message], str]


def period_text(report: StatsReport) -> Message:
    days = report.period.days
    if days is None:
        return msg("Since the link was added (days in UTC)")
    return msg_n("Last {count} day (UTC)", "Last {count} days (UTC)", days)


def top_voter_line(
    rank: int, user_id: int, votes: int, net_seconds: int, *, hidden: bool = False
) -> Message:
    sign: Literal["", "+", "-"] = "+" if net_seconds > 0 else "-" if net_seconds < 0 else ""
    return msg_n(
        "{rank}. {member}: {count} vote, net {net}",
        "{rank}. {member}: {count} votes, net {net}",
        votes,
        rank=rank,
        member=public_name(user_id, hidden),
        net=Duration(abs(net_seconds), sign),
    )


def stats_embed(report: StatsReport, render: Render) -> discord.Embed:
    """Votes, time moved, the scheduled end and the five most active voters of the period."""
    embed = discord.Embed(
        title=render(msg("Statistics of link “{name}”", name=Term(report.link.name))),
        description=render(period_text(report)),
    )
    identified, anonymous = report.identified, report.anonymous
    voters = report.stats.top_voters
    top = (
        "\n".join(
            render(
                top_voter_line(
                    rank,
                    voter.user_id,
                    voter.votes,
                    voter.net_seconds,
                    hidden=voter.user_id in report.hidden_voters,
                )
            )
            for rank, voter in enumerate(voters, start=1)
        )
        if voters
        else render(msg("No votes with a connected account in this period."))
    )
    fields = (
        (msg("Votes"), render(vote_count(identified + anonymous, identified, anonymous))),
        (TIME, render(time_moved(report.seconds_added, report.seconds_removed))),
        (SCHEDULED_END, render(scheduled_end(report.scheduled_end))),
        (msg("Most active voters"), top),
    )
    for name, value in fields:
        embed.add_field(name=render(name), value=value, inline=False)
    embed.set_image(url=f"attachment://{CHART_FILE}")
    return embed


def chart_of(report: StatsReport, render: Render, language: str) -> Chart:
    return Chart(
        since=report.since,
        until=report.until,
        ends=report.stats.ends,
        penalties=report.stats.penalties,
        days=report.stats.days,
        texts=ChartTexts(
            language=language,
            ends=render(SCHEDULED_END),
            votes=render(msg("Votes per day")),
            # TRANSLATORS: chart legend: played votes that added time to the session.
            added=render(msg("Votes adding time")),
            # TRANSLATORS: chart legend: played votes that removed time from the session.
            removed=render(msg("Votes removing time")),
            penalty=render(msg("Penalty")),
            no_end=render(msg("The scheduled end is unknown for this period.")),
            times=render(msg("Days and times in UTC")),
        ),
    )


class StatsFlow:
    """Answer privately with the period's figures as an embed and the chart as its image."""

    def __init__(self, history: HistoryService, limit: ChartLimit, charts: ChartRenderer) -> None:
        self._history = history
        self._limit = limit
        self._charts = charts

    async def card_pressed(self, interaction: discord.Interaction, link_id: int) -> None:
        """A card's Stats button: `/stats` for that link over the last 30 days."""
        await acknowledge_privately(interaction)
        await self.answer(interaction, LinkById(link_id), Period.MONTH)

    async def answer(self, interaction: discord.Interaction, ref: LinkRef, period: Period) -> None:
        report = await self._history.stats(actor_from(interaction), ref, period)
        name = Name(report.link.name)
        if report.stats.last_vote is None:
            await reply_privately(
                interaction, msg("Link {link} has no counted votes yet.", link=name)
            )
            return
        self._limit.admit(interaction.user.id)
        texts = texts_of(interaction)
        language = texts.language(interaction.locale)

        def render(message: Message) -> str:
            return texts.render(message, interaction.locale)

        png = await self._charts.render(chart_of(report, render, language))
        await interaction.followup.send(
            embed=stats_embed(report, render),
            file=discord.File(BytesIO(png), filename=CHART_FILE),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
