"""`/links` and `/config`: moderators bind public links to channels and choose who may vote."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.replies import actor_from, pages, reply_privately
from services.links import ChannelChoice
from services.markup import mask
from storage.models import ChannelLink, VoteInterval

if TYPE_CHECKING:
    from bot import CtVoteBot


LinkName = app_commands.Range[str, 1, 32]
NAMED_LINK = {"name": "The link's name.", "channel": "Its channel (default: this one)."}


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


def _choice(
    channel_id: int,
    guild_id: int | None,
    kind: discord.ChannelType | None,
    permissions: discord.Permissions,
) -> ChannelChoice:
    send = permissions.send_messages_in_threads if kind in THREADS else permissions.send_messages
    return ChannelChoice(
        channel_id,
        guild_id,
        takes_messages=kind in MESSAGE_CHANNELS,
        member_can_post=permissions.view_channel and send,
    )


class MessageChannel(app_commands.Transformer):
    """A channel option that offers only channels holding messages.

    The choice keeps the server our cache puts the channel in (discord.py stamps resolved options
    with the interaction's server) and the member's own permissions there, as Discord resolved
    them, so a moderator cannot make the bot post where they may not.
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
        guild_id = cached.guild.id if cached is not None else None
        return _choice(value.id, guild_id, value.type, value.permissions)


ChannelOption = app_commands.Transform[ChannelChoice, MessageChannel]


def this_channel(interaction: discord.Interaction) -> ChannelChoice | None:
    """The channel the command was typed in, with the member's permissions there."""
    channel = interaction.channel
    if interaction.guild_id is None or channel is None:
        return None
    return _choice(channel.id, interaction.guild_id, channel.type, interaction.permissions)


def describe_link(link: ChannelLink) -> str:
    anonymous = "anonymous votes allowed" if link.anonymous_allowed else "connected accounts only"
    session = f", session {link.session_id}" if link.session_id else ""
    return (
        f"`{link.name}` in <#{link.channel_id}>: token {mask(link.link_token.get_secret_value())}, "
        f"{link.interval.value}, {anonymous}{session}"
    )


async def _post_card(bot: CtVoteBot, link: ChannelLink) -> str:
    """Post the link's card; the link stays usable with /vote when the channel refuses it."""
    try:
        await bot.cards.post(link)
    except discord.HTTPException as error:
        return (
            f" Its card could not be posted in <#{link.channel_id}> (HTTP {error.status}): "
            "check the bot's permission to send messages there, then use `/links card`."
        )
    return f" Its card is posted in <#{link.channel_id}>."


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Links(
    commands.GroupCog,
    group_name="links",
    group_description="Bind public vote links to channels (Manage Server).",
):
    def __init__(self, bot: CtVoteBot) -> None:
        self.bot = bot
        self.admin = bot.services.links
        super().__init__()

    async def name_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        channel = getattr(interaction.namespace, "channel", None)
        channel_id = channel.id if channel is not None else interaction.channel_id
        if channel_id is None:
            return []
        names = await self.admin.names(actor_from(interaction), channel_id, current)
        return [app_commands.Choice(name=name, value=name) for name in names]

    @app_commands.command(name="add")
    @app_commands.describe(
        token="The public link token the session's owner shares.",  # noqa: S106
        name="A short name members pick with /vote (default: link).",
        channel="Where members vote on it (default: this channel).",
        interval="Mirror of the owner's LINK setting: one vote ever, or one per 24 hours.",
        anonymous="Whether members without a connected account may vote (they share one vote).",
    )
    @app_commands.choices(
        interval=[
            app_commands.Choice(name="daily (one vote per 24 hours)", value="daily"),
            app_commands.Choice(name="once (one vote ever)", value="once"),
        ]
    )
    async def add(
        self,
        interaction: discord.Interaction,
        token: app_commands.Range[str, 1, 512],
        name: LinkName | None = None,
        channel: ChannelOption | None = None,
        interval: app_commands.Choice[str] | None = None,
        anonymous: bool = True,
    ) -> None:
        """Bind a session's public vote link to a channel and post its vote card there."""
        link = await self.admin.add(
            actor_from(interaction),
            link_token=token,
            name=name,
            channel=channel or this_channel(interaction),
            interval=VoteInterval(interval.value) if interval else VoteInterval.DAILY,
            anonymous_allowed=anonymous,
        )
        card = await _post_card(self.bot, link)
        await reply_privately(interaction, f"Link added: {describe_link(link)}.{card}")
        await self.bot.modlog.post(
            link.guild_id, f"⚙️ <@{interaction.user.id}> added link {describe_link(link)}."
        )

    @app_commands.command(name="card")
    @app_commands.describe(**NAMED_LINK)
    @app_commands.autocomplete(name=name_autocomplete)
    async def card(
        self,
        interaction: discord.Interaction,
        name: LinkName,
        channel: ChannelOption | None = None,
    ) -> None:
        """Post a link's vote card again, e.g. after the old one scrolled away."""
        link = await self.admin.find_to_post(
            actor_from(interaction), name, channel or this_channel(interaction)
        )
        await reply_privately(interaction, f"Link `{link.name}`:{await _post_card(self.bot, link)}")

    @app_commands.command(name="remove")
    @app_commands.describe(**NAMED_LINK)
    @app_commands.autocomplete(name=name_autocomplete)
    async def remove(
        self,
        interaction: discord.Interaction,
        name: LinkName,
        channel: ChannelOption | None = None,
    ) -> None:
        """Remove a link from a channel; its cards stop taking votes."""
        removed = await self.admin.remove(actor_from(interaction), name, channel)
        link = removed.link
        await self.bot.cards.disable(removed)
        await reply_privately(interaction, f"Link `{link.name}` removed from <#{link.channel_id}>.")
        await self.bot.modlog.post(
            link.guild_id,
            f"⚙️ <@{interaction.user.id}> removed link `{link.name}` from <#{link.channel_id}>.",
        )

    @app_commands.command(name="list")
    async def list_links(self, interaction: discord.Interaction) -> None:
        """List every link of this server with its channel and settings."""
        links = await self.admin.list(actor_from(interaction))
        if not links:
            await reply_privately(
                interaction, "This server has no links yet: add one with `/links add`."
            )
            return
        for page in pages([describe_link(link) for link in links]):
            await reply_privately(interaction, page)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Config(
    commands.GroupCog, group_name="config", group_description="Server settings (Manage Server)."
):
    def __init__(self, bot: CtVoteBot) -> None:
        self.bot = bot
        self.admin = bot.services.links
        super().__init__()

    @app_commands.command(name="voter-role")
    @app_commands.describe(
        role="Only members with this role may vote; leave empty to let everyone vote."
    )
    async def voter_role(
        self, interaction: discord.Interaction, role: discord.Role | None = None
    ) -> None:
        """Choose the role required to vote, or clear it."""
        guild = interaction.guild
        real_role = guild.get_role(role.id) if guild is not None and role is not None else None
        await self.admin.set_voter_role(
            actor_from(interaction),
            role.id if role is not None else None,
            real_role.guild.id if real_role is not None else None,
        )
        text = (
            f"Only members with the <@&{role.id}> role may vote now."
            if role is not None
            else "Every member may vote now."
        )
        await reply_privately(interaction, text)
        await self.bot.modlog.post(interaction.guild_id, f"⚙️ <@{interaction.user.id}>: {text}")

    @app_commands.command(name="log-channel")
    @app_commands.describe(
        channel="Where configuration changes, penalties and tracker errors are posted; "
        "leave empty to stop."
    )
    async def log_channel(
        self,
        interaction: discord.Interaction,
        channel: ChannelOption | None = None,
    ) -> None:
        """Choose the moderators' log channel, or stop logging."""
        actor = actor_from(interaction)
        await self.admin.set_log_channel(actor, channel)
        if channel is None:
            await reply_privately(interaction, "The moderators' log is off.")
            return
        await reply_privately(interaction, f"The moderators' log is now <#{channel.id}>.")
        await self.bot.modlog.post(
            interaction.guild_id,
            f"⚙️ <@{interaction.user.id}> made this channel the moderators' log.",
        )


async def setup(bot: CtVoteBot) -> None:
    await bot.add_cog(Links(bot))
    await bot.add_cog(Config(bot))
