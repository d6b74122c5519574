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
    ACCOUNT_DATA,
    ACCOUNT_DISCONNECT,
    ACCOUNT_FORGET,
    ACCOUNT_PRIVACY,
    ACCOUNT_STATUS,
    CONFIG_LANGUAGE,
    CONFIG_LOG_CHANNEL,
    CONFIG_RETENTION,
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
    REMIND_ON,
    VOTE_ADD,
    VOTE_RAND,
    VOTE_SUB,
)

if TYPE_CHECKING:
    from discord_layer.host import Host


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
                "**Vote** with a card's buttons or with {add}, {sub} and {rand}. Everyone in the "
                "channel sees the result.",
                add=VOTE_ADD,
                sub=VOTE_SUB,
                rand=VOTE_RAND,
            ),
            msg(
                "**Shared vote**: members without a connected account share one vote per link, "
                "as the tracker counts votes per internet address. A vote of your own: {help}.",
                help=HELP_ACCOUNT,
            ),
            msg(
                "**Limits**: one vote per 24 hours or one ever, per link. {status} shows when you "
                "can vote again; {on} tells you by direct message.",
                status=ACCOUNT_STATUS,
                on=REMIND_ON,
            ),
            msg(
                "**Your own link**: voting on it with your own account adds a penalty; the bot "
                "asks first when it knows."
            ),
        ),
    ),
    "account": Topic(
        locale_str("account: connecting your tracker account"),
        msg("Your tracker account"),
        (
            msg(
                "**Connect** your ChastityTracker account with {connect} to get a vote of your "
                "own instead of the shared vote; games need it too.",
                connect=ACCOUNT_CONNECT,
            ),
            msg(
                "**Your API token** is personal: find it in your account on the tracker's "
                "website. It is not a session's public link token."
            ),
            msg(
                "**Privacy**: the bot stores the token encrypted, never shows or logs it, and "
                "never tests it with a game; the tracker checks it on your first vote."
            ),
            msg(
                "**Disconnect** with {disconnect}: your token and default session are erased. "
                "{status} shows what is connected.",
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
                "**Links**: {add} sets one up in the channel where members vote and posts its "
                "card. {card} posts it again, {list} shows all, {remove} removes one.",
                add=LINKS_ADD,
                card=LINKS_CARD,
                list=LINKS_LIST,
                remove=LINKS_REMOVE,
            ),
            msg(
                "**Settings**: {role} chooses who may vote, {log} where the moderators' log "
                "goes, {language} the language of public messages.",
                role=CONFIG_VOTER_ROLE,
                log=CONFIG_LOG_CHANNEL,
                language=CONFIG_LANGUAGE,
            ),
            msg(
                "**History**: {history} shows a link's latest votes, {export} sends them all as "
                "a CSV file.",
                history=LINKS_HISTORY,
                export=LINKS_EXPORT,
            ),
            msg(
                "**Permissions**: these commands need Manage Server; the bot needs View Channel, "
                "Send Messages and Embed Links where it posts."
            ),
        ),
    ),
    "games": Topic(
        locale_str("games: DICE and LUCK"),
        msg("Games"),
        (
            msg(
                "**Your own session**: {dice} rolls DICE and {luck} plays LUCK, with your "
                "connected account.",
                dice=DICE,
                luck=LUCK,
            ),
            msg(
                "**As dom** (keyholder) of a session's person: {dice}, {luck} and {link} (add, "
                "remove or random time).",
                dice=DOM_DICE,
                luck=DOM_LUCK,
                link=DOM_LINK,
            ),
            msg(
                "**Default session**: save one in the form of {connect}; {dice} and {luck} use "
                "it when you name none.",
                connect=ACCOUNT_CONNECT,
                dice=DICE,
                luck=LUCK,
            ),
            msg(
                "**Your link**: {propose} in a channel asks the moderators to let members vote "
                "there on your link.",
                propose=PROPOSE,
            ),
            msg(
                "Every game changes a real session: the bot sends each request once and never "
                "repeats it. Everyone in the channel sees the result."
            ),
        ),
    ),
    "privacy": Topic(
        locale_str("privacy: what the bot keeps about you"),
        msg("Your data"),
        (
            msg(
                "**Kept**: each vote and game you make through the bot, with your Discord id and "
                "server name; your token (encrypted) and default session when connected; your "
                "reminders and choices."
            ),
            msg(
                "**Seen by** the server's moderators: {history}, {export}. {privacy} keeps your "
                "name out of public results and cards.",
                history=LINKS_HISTORY,
                export=LINKS_EXPORT,
                privacy=ACCOUNT_PRIVACY,
            ),
            msg(
                "**Until** you erase it with {forget}, or the server's {retention} clears old "
                "votes. {data} sends you all of it. The tracker keeps its own records.",
                forget=ACCOUNT_FORGET,
                retention=CONFIG_RETENTION,
                data=ACCOUNT_DATA,
            ),
        ),
    ),
}
DEFAULT_TOPIC = "voting"
# TRANSLATORS: the footer under every /help topic; the topic names stay English.
OTHER_TOPICS = msg("More help: /help voting, account, moderators, games or privacy")


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


async def setup(bot: Host) -> None:
    await bot.add_cog(Help())
