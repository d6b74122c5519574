"""A fake Discord (REST + gateway on 127.0.0.1) that a real discord.py client logs into.

async with FakeDiscord() as fake:
    fake.add_guild(GUILD_ID, "Guild", channels=[general])
    async with running_bot(fake, bot):  # bot.setup_hook syncs its commands first
        exchange = await fake.interact(slash("vote", "link", options={...}, member=alice,
                                             channel=general))
        answer = await exchange.final()
        assert not answer.ephemeral
"""

from tests.fake_discord.client import point_discord_py_at, running_bot
from tests.fake_discord.commands import CommandNotOffered
from tests.fake_discord.payloads import (
    ADMINISTRATOR,
    EMBED_LINKS,
    GUILD_CATEGORY,
    GUILD_FORUM,
    GUILD_MEDIA,
    GUILD_VOICE,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    MODERATOR_PERMISSIONS,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Channel,
    Member,
    OptionValue,
    Role,
    User,
    autocomplete,
    button_click,
    modal_submit,
    slash,
    user_installed,
)
from tests.fake_discord.records import ApiError, Callback, Exchange, ModalSpec, SentMessage
from tests.fake_discord.server import FakeDiscord
from tests.fake_discord.wire import SentFile

__all__ = [
    "ADMINISTRATOR",
    "EMBED_LINKS",
    "GUILD_CATEGORY",
    "GUILD_FORUM",
    "GUILD_MEDIA",
    "GUILD_VOICE",
    "MANAGE_GUILD",
    "MEMBER_PERMISSIONS",
    "MODERATOR_PERMISSIONS",
    "SEND_MESSAGES",
    "VIEW_CHANNEL",
    "ApiError",
    "Callback",
    "Channel",
    "CommandNotOffered",
    "Exchange",
    "FakeDiscord",
    "Member",
    "ModalSpec",
    "OptionValue",
    "Role",
    "SentFile",
    "SentMessage",
    "User",
    "autocomplete",
    "button_click",
    "modal_submit",
    "point_discord_py_at",
    "running_bot",
    "slash",
    "user_installed",
]
