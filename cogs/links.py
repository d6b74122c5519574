"""`/links` and `/config`: moderators bind public links to channels and choose who may vote."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from discord_layer.installs import server_only
from discord_layer.ledger_lines import link_history_lines
from discord_layer.markup import mask
from discord_layer.replies import (
    NO_PINGS,
    actor_from,
    private_text,
    reply_lines_privately,
    reply_privately,
)
from i18n.message import Channel, Member, Message, Name, Number, Param, Role, Term, msg, msg_n
from services.commands import CONFIG_LANGUAGE, CONFIG_RETENTION, LINKS_ADD, LINKS_CARD
from services.history import HISTORY_DEFAULT, HISTORY_MAX
from services.links import BotPermission, ChannelChoice, LinkRequest
from services.locales import language_name
from services.privacy import RETENTION_MAX_DAYS
from storage.models import ChannelLink, VoteInterval

if TYPE_CHECKING:
    from discord_layer.host import Host


LinkName = app_commands.Range[str, 1, 32]
NAMED_LINK = {
    "name": locale_str("The link's name."),
    "channel": locale_str("Its channel, when several channels have a link of that name."),
}


# The options of a link to bind, shared by `/links add` and `/propose`.
LINK_OPTIONS = {
    "token": locale_str("The public link token, shared by the person the session belongs to."),
    "name": locale_str("A short name members pick with /vote (default: link)."),
    "interval": locale_str(
        "As the link is set on the tracker: one vote per 24 hours, or one vote ever."
    ),
    "anonymous": locale_str(
        "Whether members without a connected account may vote (they share one vote)."
    ),
}
INTERVAL_CHOICES = [
    app_commands.Choice(name=locale_str("daily (one vote per 24 hours)"), value="daily"),
    app_commands.Choice(name=locale_str("once (one vote ever)"), value="once"),
]
LinkToken = app_commands.Range[str, 1, 512]


def chosen_interval(choice: app_commands.Choice[str] | None) -> VoteInterval:
    return VoteInterval(choice.value) if choice else VoteInterval.DAILY


# Channels that hold messages: text, voice and stage chats, announcements, threads.
MESSAGE_CHANNELS = [
    discord.ChannelType.text,
    discord.ChannelType.voice,
    discord.ChannelType.news,
    discord.ChannelType.news_thread,
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
    discord.ChannelType.stage_voice,
]
THREADS = (
    discord.ChannelType.news_thread,
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
)
SEND, SEND_IN_THREADS = BotPermission.SEND_MESSAGES, BotPermission.SEND_MESSAGES_IN_THREADS


def _choice(
    channel_id: int,
    guild_id: int | None,
    kind: discord.ChannelType | None,
    permissions: discord.Permissions,
    bot_permissions: discord.Permissions,
) -> ChannelChoice:
    send = SEND_IN_THREADS if kind in THREADS else SEND
    return ChannelChoice(
        channel_id,
        guild_id,
        takes_messages=kind in MESSAGE_CHANNELS,
        member_can_view=permissions.view_channel,
        member_can_post=permissions.view_channel and getattr(permissions, send.value),
        bot_lacks=frozenset(
            needed
            for needed in (BotPermission.VIEW_CHANNEL, send, BotPermission.EMBED_LINKS)
            if not getattr(bot_permissions, needed.value)
        ),
    )


class MessageChannel(app_commands.Transformer):
    """A channel option that offers only channels holding messages.

    The choice keeps the server our cache puts the channel in (discord.py stamps resolved options
    with the interaction's server) and the member's own permissions there, as Discord resolved
    them, so a moderator cannot make the bot post where they may not. The bot's own permissions
    there come from the cached channel, its overwrites and the bot's roles.
    """

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return MESSAGE_CHANNELS

    async def transform(
        self,
        interaction: discord.Interaction,
        value: app_commands.AppCommandChannel | app_commands.AppCommandThread,
        /,
    ) -> ChannelChoice:
        guild = interaction.guild
        cached = guild.get_channel_or_thread(value.id) if guild is not None else None
        if cached is None or guild is None or guild.me is None:
            # Not a channel of this server: refused as such, whatever the bot may do there.
            everything = discord.Permissions.all()
            return _choice(value.id, None, value.type, value.permissions, everything)
        bot_permissions = cached.permissions_for(guild.me)
        return _choice(value.id, cached.guild.id, value.type, value.permissions, bot_permissions)


ChannelOption = app_commands.Transform[ChannelChoice, MessageChannel]


def this_channel(interaction: discord.Interaction) -> ChannelChoice | None:
    """The channel the command was typed in, with the member's and the bot's permissions there."""
    channel = interaction.channel
    if interaction.guild_id is None or channel is None:
        return None
    return _choice(
        channel.id,
        interaction.guild_id,
        channel.type,
        interaction.permissions,
        interaction.app_permissions,
    )


def channel_of(interaction: discord.Interaction, channel_id: int) -> ChannelChoice | None:
    """A channel of this server, with the member's and the bot's permissions there, as our cache
    knows them; None when it does not know the channel."""
    if channel_id == interaction.channel_id:
        return this_channel(interaction)
    guild, member = interaction.guild, interaction.user
    cached = guild.get_channel_or_thread(channel_id) if guild is not None else None
    if (
        cached is None
        or guild is None
        or guild.me is None
        or not isinstance(member, discord.Member)
    ):
        return None
    return _choice(
        channel_id,
        guild.id,
        cached.type,
        cached.permissions_for(member),
        cached.permissions_for(guild.me),
    )


def cached_channel(interaction: discord.Interaction, channel_id: int) -> ChannelChoice:
    """`channel_of`, with a channel the cache does not know refused as not of this server."""
    known = channel_of(interaction, channel_id)
    if known is not None:
        return known
    nothing = discord.Permissions.none()
    return _choice(channel_id, None, None, nothing, nothing)


def _where(interaction: discord.Interaction, link: ChannelLink) -> str:
    """`name · #channel` for an autocomplete choice, which shows plain text, not mentions."""
    guild = interaction.guild
    cached = guild.get_channel_or_thread(link.channel_id) if guild is not None else None
    channel = cached.name if cached is not None else str(link.channel_id)
    return f"{link.name} · #{channel}"


def link_settings(interval: VoteInterval, anonymous_allowed: bool) -> tuple[Message, Message]:
    """A link's interval and who may vote, as `/links list` and proposals show them."""
    # TRANSLATORS: a link's vote interval as a moderator chose it in /links add.
    interval_text = msg("daily") if interval is VoteInterval.DAILY else msg("once")
    voters = msg("shared vote allowed") if anonymous_allowed else msg("connected accounts only")
    return interval_text, voters


def viewable_by(interaction: discord.Interaction) -> Callable[[int], bool]:
    """Whether the member can view a channel of the server, by our cache of its roles and
    overwrites; an administrator sees every channel, and a channel we do not know (deleted)
    counts as not viewable."""
    guild, member = interaction.guild, interaction.user
    if interaction.permissions.administrator:
        return lambda channel_id: True

    def can_view(channel_id: int) -> bool:
        channel = guild.get_channel_or_thread(channel_id) if guild is not None else None
        if channel is None or not isinstance(member, discord.Member):
            return False
        return channel.permissions_for(member).view_channel

    return can_view


def describe_link(link: ChannelLink) -> Message:
    """One line of `/links list`: where, which token (masked), and the link's rules."""
    interval, voters = link_settings(link.interval, link.anonymous_allowed)
    name, channel = Name(link.name), Channel(link.channel_id)
    token = Term(mask(link.link_token.get_secret_value()))
    if link.session_id:
        return msg(
            "{link} in {channel}: token {token}, {interval}, {voters}, session {session}",
            link=name,
            channel=channel,
            token=token,
            interval=interval,
            voters=voters,
            session=link.session_id,
        )
    return msg(
        "{link} in {channel}: token {token}, {interval}, {voters}",
        link=name,
        channel=channel,
        token=token,
        interval=interval,
        voters=voters,
    )


def retention_line(days: int | None) -> Message:
    """The last line of `/links list`: how long votes keep their voter's id and name."""
    if days is None:
        return msg(
            "Votes keep their voter's id and name ({retention} sets a limit).",
            retention=CONFIG_RETENTION,
        )
    return msg_n(
        "Votes lose their voter's id and name after {count} day ({retention}).",
        "Votes lose their voter's id and name after {count} days ({retention}).",
        days,
        retention=CONFIG_RETENTION,
    )


async def post_card(bot: Host, link: ChannelLink) -> Message:
    """Post the link's card; the link stays usable with /vote when the channel refuses it."""
    try:
        await bot.cards.post(link)
    except discord.HTTPException as error:
        return msg(
            "Its card could not be posted in {channel} (HTTP {status}): check the bot's "
            "permissions there, then use {card}.",
            channel=Channel(link.channel_id),
            status=error.status,
            card=LINKS_CARD,
        )
    return msg("Its card is posted in {channel}.", channel=Channel(link.channel_id))


@server_only
@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Links(
    commands.GroupCog,
    group_name="links",
    group_description=locale_str("Set up public vote links in channels (Manage Server)."),
):
    def __init__(self, bot: Host) -> None:
        self.bot = bot
        self.admin = bot.services.links
        super().__init__()

    async def name_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The named channel's links; without a channel, the server's as `name · #channel`."""
        channel = getattr(interaction.namespace, "channel", None)
        channel_id = channel.id if channel is not None else None
        links = await self.admin.matching(
            actor_from(interaction), channel_id, current, viewable_by(interaction)
        )
        if channel_id is not None:
            return [app_commands.Choice(name=link.name, value=link.name) for link in links]
        return [
            app_commands.Choice(name=_where(interaction, link)[:100], value=link.name)
            for link in links
        ]

    @app_commands.command(
        name="add",
        description=locale_str(
            "Set up a session's public vote link in a channel and post its vote card there."
        ),
    )
    @app_commands.describe(
        **LINK_OPTIONS, channel=locale_str("Where members vote on it (default: this channel).")
    )
    @app_commands.choices(interval=INTERVAL_CHOICES)
    async def add(
        self,
        interaction: discord.Interaction,
        token: LinkToken,
        name: LinkName | None = None,
        channel: ChannelOption | None = None,
        interval: app_commands.Choice[str] | None = None,
        anonymous: bool = True,
    ) -> None:
        request = LinkRequest(
            token, name, channel or this_channel(interaction), chosen_interval(interval), anonymous
        )
        link = await self.admin.add(actor_from(interaction), request)
        card = await post_card(self.bot, link)
        described = describe_link(link)
        await reply_privately(
            interaction, msg("Link added: {link}. {card}", link=described, card=card)
        )
        await self.bot.modlog.post(
            link.guild_id,
            msg(
                "⚙️ {member} added link {link}.", member=Member(interaction.user.id), link=described
            ),
            interaction.guild_locale,
        )

    @app_commands.command(
        name="card",
        description=locale_str(
            "Post a link's vote card again, e.g. after the old one scrolled away."
        ),
    )
    @app_commands.describe(**NAMED_LINK)
    @app_commands.autocomplete(name=name_autocomplete)
    async def card(
        self,
        interaction: discord.Interaction,
        name: LinkName,
        channel: ChannelOption | None = None,
    ) -> None:
        link = await self.admin.find_to_post(
            actor_from(interaction),
            name,
            channel,
            lambda channel_id: channel_of(interaction, channel_id),
        )
        card = await post_card(self.bot, link)
        await reply_privately(
            interaction, msg("Link {link}: {card}", link=Name(link.name), card=card)
        )

    @app_commands.command(
        name="remove",
        description=locale_str("Remove a link from a channel; its cards stop taking votes."),
    )
    @app_commands.describe(**NAMED_LINK)
    @app_commands.autocomplete(name=name_autocomplete)
    async def remove(
        self,
        interaction: discord.Interaction,
        name: LinkName,
        channel: ChannelOption | None = None,
    ) -> None:
        removed = await self.admin.remove(actor_from(interaction), name, channel)
        link = removed.link
        await self.bot.cards.disable(removed)
        where: dict[str, Param] = {"link": Name(link.name), "channel": Channel(link.channel_id)}
        await reply_privately(interaction, msg("Link {link} removed from {channel}.", **where))
        await self.bot.modlog.post(
            link.guild_id,
            msg(
                "⚙️ {member} removed link {link} from {channel}.",
                member=Member(interaction.user.id),
                **where,
            ),
            interaction.guild_locale,
        )

    @app_commands.command(
        name="history",
        description=locale_str("Show a link's latest votes: who, what and with which outcome."),
    )
    @app_commands.describe(
        **NAMED_LINK,
        count=locale_str("How many votes, newest first (default 10, at most 25)."),
    )
    @app_commands.autocomplete(name=name_autocomplete)
    async def history(
        self,
        interaction: discord.Interaction,
        name: LinkName,
        count: app_commands.Range[int, 1, HISTORY_MAX] = HISTORY_DEFAULT,
        channel: ChannelOption | None = None,
    ) -> None:
        history = await self.bot.services.history.link_history(
            actor_from(interaction),
            name,
            channel,
            lambda channel_id: channel_of(interaction, channel_id),
            count,
        )
        await reply_lines_privately(interaction, link_history_lines(history))

    @app_commands.command(
        name="export",
        description=locale_str("Export every vote on a link as a CSV file (for spreadsheets)."),
    )
    @app_commands.describe(**NAMED_LINK)
    @app_commands.autocomplete(name=name_autocomplete)
    async def export(
        self,
        interaction: discord.Interaction,
        name: LinkName,
        channel: ChannelOption | None = None,
    ) -> None:
        async with self.bot.services.history.export(
            actor_from(interaction),
            name,
            channel,
            lambda channel_id: channel_of(interaction, channel_id),
            size_limit=interaction.filesize_limit,
        ) as export:
            text = (
                msg_n(
                    "{count} vote, compressed with gzip to fit Discord's upload limit.",
                    "{count} votes, compressed with gzip to fit Discord's upload limit.",
                    export.rows,
                )
                if export.compressed
                else msg_n("{count} vote.", "{count} votes.", export.rows)
            )
            await interaction.followup.send(
                private_text(interaction, text),
                file=discord.File(export.path, filename=export.filename),
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )

    @app_commands.command(
        name="list",
        description=locale_str("List every link of this server with its channel and settings."),
    )
    async def list_links(self, interaction: discord.Interaction) -> None:
        visible = await self.admin.in_guild(actor_from(interaction), viewable_by(interaction))
        language = await self._language_line(interaction)
        retention = retention_line(
            await self.bot.services.privacy.retention(interaction.guild_id or 0)
        )
        if not visible.links and not visible.left_out:
            empty = msg("This server has no links yet: add one with {add}.", add=LINKS_ADD)
            await reply_lines_privately(interaction, [empty, language, retention])
            return
        lines = [describe_link(link) for link in visible.links]
        if visible.left_out:
            lines.append(
                msg_n(
                    "{count} link in a channel you cannot view is not shown.",
                    "{count} links in channels you cannot view are not shown.",
                    visible.left_out,
                )
            )
        await reply_lines_privately(interaction, [*lines, language, retention])

    async def _language_line(self, interaction: discord.Interaction) -> Message:
        """Which language the channels read, so a moderator sees why cards speak it."""
        guild_id = interaction.guild_id or 0
        chosen = await self.bot.services.locales.chosen_language(guild_id)
        if chosen is None:
            return msg(
                "Public messages follow Discord's server language ({language}); change it with "
                "{command}.",
                language=language_name(self.bot.texts.language(interaction.guild_locale)),
                command=CONFIG_LANGUAGE,
            )
        return msg(
            "Public messages are in {language}, as chosen with {command}.",
            language=language_name(chosen),
            command=CONFIG_LANGUAGE,
        )


@server_only
@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Config(
    commands.GroupCog,
    group_name="config",
    group_description=locale_str("Server settings (Manage Server)."),
):
    def __init__(self, bot: Host) -> None:
        self.bot = bot
        self.admin = bot.services.links
        self.locales = bot.services.locales
        super().__init__()

    @app_commands.command(
        name="language",
        description=locale_str("Choose the language of the server's public messages."),
    )
    @app_commands.describe(
        language=locale_str(
            "For results, cards and the moderators' log; auto follows Discord's server language."
        )
    )
    @app_commands.choices(
        language=[
            app_commands.Choice(name=locale_str("auto (Discord's server language)"), value="auto"),
            app_commands.Choice(name=locale_str("English"), value="en"),
            app_commands.Choice(name=locale_str("German"), value="de"),
            app_commands.Choice(name=locale_str("French"), value="fr"),
        ]
    )
    async def language(
        self, interaction: discord.Interaction, language: app_commands.Choice[str]
    ) -> None:
        chosen = None if language.value == "auto" else language.value
        await self.locales.choose_public_language(actor_from(interaction), chosen)
        member = Member(interaction.user.id)
        if chosen is None:
            discord_language = language_name(self.bot.texts.language(interaction.guild_locale))
            answer = msg(
                "Public messages now follow Discord's server language: {language}. Cards change "
                "at their next update.",
                language=discord_language,
            )
            logged = msg(
                "⚙️ {member} let public messages follow Discord's server language: {language}.",
                member=member,
                language=discord_language,
            )
        else:
            answer = msg(
                "Public messages are now in {language}. Cards change at their next update.",
                language=language_name(chosen),
            )
            logged = msg(
                "⚙️ {member} chose {language} for public messages.",
                member=member,
                language=language_name(chosen),
            )
        await reply_privately(interaction, answer)
        await self.bot.modlog.post(interaction.guild_id, logged, interaction.guild_locale)

    @app_commands.command(
        name="voter-role", description=locale_str("Choose the role required to vote, or clear it.")
    )
    @app_commands.describe(
        role=locale_str("Only members with this role may vote; leave empty to let everyone vote.")
    )
    async def voter_role(
        self, interaction: discord.Interaction, role: discord.Role | None = None
    ) -> None:
        guild = interaction.guild
        real_role = guild.get_role(role.id) if guild is not None and role is not None else None
        await self.admin.set_voter_role(
            actor_from(interaction),
            role.id if role is not None else None,
            real_role.guild.id if real_role is not None else None,
        )
        member = Member(interaction.user.id)
        if role is not None:
            await reply_privately(
                interaction,
                msg("Only members with the {role} role may vote now.", role=Role(role.id)),
            )
            logged = msg(
                "⚙️ {member} allowed only members with the {role} role to vote.",
                member=member,
                role=Role(role.id),
            )
        else:
            await reply_privately(interaction, msg("Every member may vote now."))
            logged = msg("⚙️ {member} let every member vote.", member=member)
        await self.bot.modlog.post(interaction.guild_id, logged, interaction.guild_locale)

    @app_commands.command(
        name="log-channel",
        description=locale_str("Choose the moderators' log channel, or stop logging."),
    )
    @app_commands.describe(
        channel=locale_str(
            "Where configuration changes, penalties and tracker errors are posted; "
            "leave empty to stop."
        )
    )
    async def log_channel(
        self,
        interaction: discord.Interaction,
        channel: ChannelOption | None = None,
    ) -> None:
        actor = actor_from(interaction)
        await self.admin.set_log_channel(actor, channel)
        if channel is None:
            await reply_privately(interaction, msg("The moderators' log is off."))
            return
        await reply_privately(
            interaction,
            msg("The moderators' log is now {channel}.", channel=Channel(channel.id)),
        )
        await self.bot.modlog.post(
            interaction.guild_id,
            msg(
                "⚙️ {member} made this channel the moderators' log.",
                member=Member(interaction.user.id),
            ),
            interaction.guild_locale,
        )

    @app_commands.command(
        name="retention",
        description=locale_str("Choose how long votes keep their voter's id and name."),
    )
    @app_commands.describe(
        days=locale_str("Days after which votes lose their voter's id and name; empty: keep them.")
    )
    async def retention(
        self,
        interaction: discord.Interaction,
        days: app_commands.Range[int, 1, RETENTION_MAX_DAYS] | None = None,
    ) -> None:
        cleared = await self.bot.services.privacy.set_retention(actor_from(interaction), days)
        member = Member(interaction.user.id)
        if days is None:
            await reply_privately(
                interaction, msg("Votes now keep their voter's id and name, with no limit.")
            )
            logged = msg("⚙️ {member} let votes keep their voter's id and name.", member=member)
        else:
            await reply_privately(
                interaction,
                msg_n(
                    "Votes older than {count} day now lose their voter's id and name: {cleared} "
                    "did just now, and the bot checks daily. Tallies and statistics stay as they "
                    "are.",
                    "Votes older than {count} days now lose their voter's id and name: {cleared} "
                    "did just now, and the bot checks daily. Tallies and statistics stay as they "
                    "are.",
                    days,
                    cleared=Number(cleared),
                ),
            )
            logged = msg_n(
                "⚙️ {member} set votes to lose their voter's id and name after {count} day.",
                "⚙️ {member} set votes to lose their voter's id and name after {count} days.",
                days,
                member=member,
            )
        await self.bot.modlog.post(interaction.guild_id, logged, interaction.guild_locale)


async def setup(bot: Host) -> None:
    await bot.add_cog(Links(bot))
    await bot.add_cog(Config(bot))
