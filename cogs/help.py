"""`/help [topic]`: how the bot works, one short private screen per topic, in the member's language.

Each topic names the commands it explains as mentions, so a member clicks one to start typing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from discord_layer.installs import anywhere
from discord_layer.replies import private_text, reply_privately
from i18n.message import Message, msg
from services.commands import (
    ACCOUNT_CONNECT,
    ACCOUNT_DISCONNECT,
    ACCOUNT_STATUS,
    CONFIG_LOG_CHANNEL,
    CONFIG_VOTER_ROLE,
    DICE,
    DOM_DICE,
    DOM_LINK,
    DOM_LUCK,
    HELP_ACCOUNT,
    LINKS_ADD,
    LINKS_CARD,
    LINKS_EXPORT,
    LINKS_HISTORY,
    LINKS_LIST,
    LINKS_REMOVE,
    LUCK,
    PROPOSE,
    REMIND_OFF,
    REMIND_ON,
    STATS,
    VOTE_ADD,
    VOTE_RAND,
    VOTE_SUB,
)

if TYPE_CHECKING:
    from bot import CtVoteBot


@dataclass(frozen=True)
class Topic:
    choice: locale_str
    """How the `topic` option offers it; its value (the key in TOPICS) stays English."""
    title: Message
    paragraphs: tuple[Message, ...]


TOPICS = {
    "voting": Topic(
        locale_str("voting: how votes count"),
        msg("How voting works"),
        (
            msg(
                "**Vote** with the Add, Remove and Random buttons of a link card, or with "
                "{add}, {sub} and {rand} in a channel that has a link. The result is posted "
                "for everyone in the channel.",
                add=VOTE_ADD,
                sub=VOTE_SUB,
                rand=VOTE_RAND,
            ),
            msg(
                "**The shared anonymous vote**: without a connected account, your vote is the "
                "channel's anonymous vote. The tracker counts anonymous votes per internet "
                "address, and all of them come from this bot, so the first anonymous vote is "
                "used up for everyone until the link reopens. Connect your account to get a vote "
                "of your own: {help}.",
                help=HELP_ACCOUNT,
            ),
            msg(
                "**Daily or once**: the session's owner decides whether a link takes one vote "
                "per 24 hours or one vote ever. {status} shows when you can vote again on each "
                "link.",
                status=ACCOUNT_STATUS,
            ),
            msg(
                "**Reminders**: {on} sends you a direct message when a daily link you voted on "
                "reopens for you; {off} stops them.",
                on=REMIND_ON,
                off=REMIND_OFF,
            ),
            msg(
                "**The owner's penalty**: when the session's owner votes on their own link with "
                "their own account, the tracker applies a penalty (time added at the maximum "
                "multiplier). When the bot knows the link is yours, it asks you to confirm first."
            ),
        ),
    ),
    "account": Topic(
        locale_str("account: connecting your tracker account"),
        msg("Your tracker account"),
        (
            msg(
                "**Connecting** with {connect} makes your votes your own: they no longer share "
                "the channel's anonymous vote, and vote limits count for you alone. Owners and "
                "doms need a connected account to play their games.",
                connect=ACCOUNT_CONNECT,
            ),
            msg(
                "**Your API token** is personal: you find it in your account on the tracker's "
                "website. It is not the public link token a session's owner shares. {connect} "
                "opens a private form for it, with an optional default session for your games.",
                connect=ACCOUNT_CONNECT,
            ),
            msg(
                "**Privacy**: the bot stores the token encrypted and never shows or logs it. It "
                "does not test the token by playing a game; the tracker checks it on your first "
                "game."
            ),
            msg(
                "**Disconnecting** with {disconnect} erases your token and your default session "
                "from the bot's database; from then on you vote anonymously. Votes already cast "
                "stay counted. {status} shows whether an account is connected.",
                disconnect=ACCOUNT_DISCONNECT,
                status=ACCOUNT_STATUS,
            ),
        ),
    ),
    "moderators": Topic(
        locale_str("moderators: links, cards, roles and permissions"),
        msg("For moderators"),
        (
            msg(
                "**Bind a link** with {add} in the channel where members should vote: the public "
                "link token the session's owner shares, a name if the channel gets several "
                "links, the interval (daily or once, as the owner set it) and whether members "
                "without a connected account may vote. The bot posts the link's card there.",
                add=LINKS_ADD,
            ),
            msg(
                "**Cards and links**: {card} posts a link's card again, {list} shows every link "
                "of the server with its settings, and {remove} removes a link and stops its "
                "cards.",
                card=LINKS_CARD,
                list=LINKS_LIST,
                remove=LINKS_REMOVE,
            ),
            msg(
                "**Who may vote**: {role} limits voting to members with one role. **Log**: "
                "{log} posts configuration changes, penalties and tracker errors in a channel "
                "for moderators.",
                role=CONFIG_VOTER_ROLE,
                log=CONFIG_LOG_CHANNEL,
            ),
            msg(
                "**History**: {history} lists a link's latest calls with their outcomes, and "
                "{export} sends all of them as a spreadsheet file (CSV). Members see a link's "
                "tally and chart with {stats}.",
                history=LINKS_HISTORY,
                export=LINKS_EXPORT,
                stats=STATS,
            ),
            msg(
                "**Permissions**: these commands need Manage Server. In every channel with a "
                "card or the log, the bot needs View Channel, Send Messages and Embed Links; "
                "{add} names any that is missing before it stores anything.",
                add=LINKS_ADD,
            ),
        ),
    ),
    "games": Topic(
        locale_str("games: DICE and LUCK"),
        msg("Games for owners and doms"),
        (
            msg(
                "**Owners** play on their own session with their own connected account: {dice} "
                "rolls DICE and {luck} plays LUCK.",
                dice=DICE,
                luck=LUCK,
            ),
            msg(
                "**Doms** play on the session of the person whose dom they are: {dice}, {luck} "
                "and {link} (add, remove or random time).",
                dice=DOM_DICE,
                luck=DOM_LUCK,
                link=DOM_LINK,
            ),
            msg(
                "**Default session**: save one in the form of {connect}; {dice} and {luck} use "
                "it when you name no session.",
                connect=ACCOUNT_CONNECT,
                dice=DICE,
                luck=LUCK,
            ),
            msg(
                "**Your link**: {propose} in a channel asks the moderators to let members vote "
                "there on your session's public link.",
                propose=PROPOSE,
            ),
            msg(
                "Every game changes a real session: the bot sends each request once and never "
                "repeats it. Results are posted for everyone in the channel."
            ),
        ),
    ),
}
DEFAULT_TOPIC = "voting"
# TRANSLATORS: the footer under every /help topic; the topic names stay English.
OTHER_TOPICS = msg("More help: /help voting, account, moderators or games")


def help_embed(topic: Topic, render: Callable[[Message], str]) -> discord.Embed:
    embed = discord.Embed(
        title=render(topic.title),
        description="\n\n".join(render(paragraph) for paragraph in topic.paragraphs),
    )
    embed.set_footer(text=render(OTHER_TOPICS))
    return embed


class Help(commands.Cog):
    @app_commands.command(
        name="help",
        description=locale_str("How the bot works: voting, your account, moderation and games."),
    )
    @anywhere
    @app_commands.describe(topic=locale_str("What to explain (default: voting)."))
    @app_commands.choices(
        topic=[app_commands.Choice(name=t.choice, value=key) for key, t in TOPICS.items()]
    )
    async def help(
        self, interaction: discord.Interaction, topic: app_commands.Choice[str] | None = None
    ) -> None:
        chosen = TOPICS[topic.value if topic else DEFAULT_TOPIC]  # Discord sent one of the choices
        embed = help_embed(chosen, lambda message: private_text(interaction, message))
        await reply_privately(interaction, None, embed=embed)


async def setup(bot: CtVoteBot) -> None:
    await bot.add_cog(Help())
