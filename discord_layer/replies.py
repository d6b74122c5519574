"""How the bot answers: private replies in any state, public results that ping nobody.

Private answers speak the member's language (`interaction.locale`); public ones the server's
(its `/config language`, else `interaction.guild_locale`), so everyone in a channel reads one
language (outside servers, the member's).
"""

from __future__ import annotations

import discord
from discord.utils import MISSING

from discord_layer.texts import Texts
from i18n.message import Message
from services.actor import Actor

NO_PINGS = discord.AllowedMentions.none()
MESSAGE_LIMIT = 2000  # characters of a message's content Discord accepts


def actor_from(interaction: discord.Interaction) -> Actor:
    """Everything our rules need from an interaction, taken from what Discord sent and we cache."""
    user = interaction.user
    roles = frozenset(role.id for role in getattr(user, "roles", ()))
    permissions = interaction.permissions
    return Actor(
        user_id=user.id,
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        role_ids=roles,
        manage_guild=interaction.guild_id is not None and permissions.manage_guild,
        locale=str(interaction.locale),
        guild_locale=discord_guild_locale(interaction),
        interaction_id=interaction.id,
        display_name=user.display_name,
    )


def texts_of(interaction: discord.Interaction) -> Texts:
    """The catalogue renderer, which is also the command tree's translator."""
    texts = interaction.client.tree.translator  # type: ignore[attr-defined]
    if not isinstance(texts, Texts):
        raise TypeError("the bot's command tree has no Texts translator")
    return texts


def private_text(interaction: discord.Interaction, message: Message) -> str:
    return texts_of(interaction).render(message, interaction.locale)


def pages(lines: list[str], limit: int = 1900) -> list[str]:
    """Whole lines per message, each message under Discord's 2,000 characters."""
    result: list[str] = []
    for line in lines:
        line = line[:limit]
        if result and len(result[-1]) + 1 + len(line) <= limit:
            result[-1] += "\n" + line
        else:
            result.append(line)
    return result


def within_limit(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A message Discord accepts: whole lines dropped from the end, the first one cut if need be.

    A played game is announced whatever the tracker sent; its first line says who played what.
    """
    lines = text.split("\n")
    while len(lines) > 1 and len("\n".join(lines)) > limit:
        lines.pop()
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def voter_only(user_id: int) -> discord.AllowedMentions:
    """Public messages may notify the member they are about, never anyone else."""
    return discord.AllowedMentions(
        everyone=False, roles=False, users=[discord.Object(id=user_id)], replied_user=False
    )


async def reply_privately(
    interaction: discord.Interaction,
    content: Message | str | None,
    *,
    embed: discord.Embed | None = None,
) -> None:
    """An ephemeral answer in the member's language, whether or not it was acknowledged already.

    Commands that can fail defer ephemerally, so the first follow-up (which keeps the deferral's
    visibility) is private too. A `str` or an embed was rendered by the caller (e.g. one page of
    a list).
    """
    text = private_text(interaction, content) if isinstance(content, Message) else content
    shown = embed if embed is not None else MISSING
    if interaction.response.is_done():
        await interaction.followup.send(
            text if text is not None else MISSING,
            embed=shown,
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
    else:
        await interaction.response.send_message(
            text, embed=shown, ephemeral=True, allowed_mentions=NO_PINGS
        )


async def reply_lines_privately(interaction: discord.Interaction, lines: list[Message]) -> None:
    """Several lines in the member's language, as few private messages as Discord's limit allows."""
    texts = texts_of(interaction)
    for page in pages([texts.render(line, interaction.locale) for line in lines]):
        await reply_privately(interaction, page)


def discord_guild_locale(interaction: discord.Interaction) -> str | None:
    """The server's language as Discord reports it (en-US for any server not a Community one)."""
    return str(interaction.guild_locale) if interaction.guild_locale else None


async def publish(
    interaction: discord.Interaction,
    public: Message,
    private: Message,
    *,
    about: int,
    locale: object,
) -> None:
    """Settle the private deferral with a short note, then post the result for the channel in
    `locale`, the server's language for public messages (`LocaleService.public_locale`)."""
    await interaction.edit_original_response(
        content=private_text(interaction, private), allowed_mentions=NO_PINGS
    )
    await interaction.followup.send(
        within_limit(texts_of(interaction).render(public, locale)),
        ephemeral=False,
        allowed_mentions=voter_only(about),
    )
