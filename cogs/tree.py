"""The one error handler: each failure becomes one private sentence; surprises get a reference."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

import discord
from discord import app_commands

from cogs.replies import reply_privately
from services.calls import RESTARTING
from services.errors import UserError
from services.markup import plain
from storage.errors import StorageUnavailable
from tracker import errors

log = logging.getLogger(__name__)

UNKNOWN_OUTCOME = (
    "The tracker did not answer properly, so this may or may not have counted. "
    "Check the session on the tracker before trying again."
)


def _retry_text(error: errors.RateLimited) -> str:
    wait = f" Try again in {round(error.retry_after)} seconds." if error.retry_after else ""
    return f"The tracker asks to slow down; nothing was played.{wait}"


# Most specific first: the first matching type decides the sentence.
TRACKER_TEXTS: list[tuple[type[errors.TrackerError], Callable[[errors.TrackerError], str]]] = [
    (errors.InvalidGameRequest, lambda e: e.message),
    (
        errors.Unauthorized,
        lambda e: (
            "The tracker rejected your API token. Connect again with `/account connect` "
            "using a current token."
        ),
    ),
    (
        errors.Forbidden,
        lambda e: (
            "The tracker refused: your account is not this session's owner, or not their dom. "
            f"({plain(e.message)})"
        ),
    ),
    (
        errors.NotFound,
        lambda e: (
            "The tracker does not know this link or session; check the id, or ask a moderator to "
            f"check the link. ({plain(e.message)})"
        ),
    ),
    (errors.RequestRejected, lambda e: f"The tracker refused: {plain(e.message, limit=400)}"),
    (errors.RateLimited, lambda e: _retry_text(e)),  # type: ignore[arg-type]
    (
        errors.TrackerUnreachable,
        lambda e: "The tracker could not be reached, so nothing was sent. Try again in a moment.",
    ),
    (errors.TrackerRefused, lambda e: f"The tracker refused the request: {plain(e.message)}"),
    (errors.OutcomeUnknown, lambda e: UNKNOWN_OUTCOME),
]


STORAGE_UNAVAILABLE = (
    "The bot cannot use its database right now, so nothing was done and nothing was sent to "
    "the tracker. Try again later; a moderator can check the bot's log."
)

OUTDATED_COMMAND = (
    "This command arrived without options it needs; Discord may still show an older version of "
    "it. Reload Discord and try again."
)


def explain(error: BaseException) -> str | None:
    """The member-facing sentence for an error we expect, or None for a surprise."""
    if isinstance(error, UserError):
        return error.message
    if isinstance(error, StorageUnavailable):
        return STORAGE_UNAVAILABLE
    if isinstance(error, errors.TrackerError):
        for kind, text in TRACKER_TEXTS:
            if isinstance(error, kind):
                return f"{text(error)} {error.hint}" if error.hint else text(error)
    if isinstance(error, app_commands.TransformerError):
        return "One of the options has a value this command cannot use."
    if isinstance(error, app_commands.CommandSignatureMismatch):
        return OUTDATED_COMMAND
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works only in a server channel."
    if isinstance(error, app_commands.CheckFailure):
        return "You may not use this command here."
    return None


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Answer privately; unknown errors are logged with a reference id the member can quote."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    text = explain(error)
    metrics = getattr(interaction.client, "metrics", None)
    if metrics is not None:
        metrics.error(error, explained=text is not None)
    if isinstance(error, StorageUnavailable):
        log.error("storage unavailable in /%s: %s", _command_name(interaction), error)
    elif isinstance(error, app_commands.CommandSignatureMismatch):
        log.warning("/%s arrived with options the bot does not know", _command_name(interaction))
    if text is None:
        reference = secrets.token_hex(4)
        log.error(
            "unexpected error in /%s (reference %s)",
            _command_name(interaction),
            reference,
            exc_info=(type(error), error, error.__traceback__),
        )
        text = (
            f"Sorry, something went wrong on our side (reference `{reference}`). "
            "A moderator can look this reference up in the bot's log."
        )
    try:
        await reply_privately(interaction, text)
    except discord.HTTPException as failure:
        if metrics is not None:
            metrics.errors.labels("reply_failed").inc()
        log.warning(
            "could not deliver an error reply for interaction %s: %s",
            interaction.id,
            failure.status,
        )
    if isinstance(error, errors.TrackerError) and not isinstance(error, errors.InvalidGameRequest):
        await _log_tracker_error(interaction, error)


def _command_name(interaction: discord.Interaction) -> str:
    return interaction.command.qualified_name if interaction.command else "?"


async def _log_tracker_error(interaction: discord.Interaction, error: errors.TrackerError) -> None:
    modlog = getattr(interaction.client, "modlog", None)
    if modlog is None:
        return
    what = f"/{interaction.command.qualified_name}" if interaction.command else "a vote button"
    status = f"HTTP {error.status}, " if error.status else ""
    await modlog.post_repeatable(
        interaction.guild_id,
        (interaction.channel_id, error.reason, error.status),
        f"Tracker error on {what} by <@{interaction.user.id}> in <#{interaction.channel_id}>: "
        f"{status}{error.reason}: {plain(error.message)}",
    )


OPENS_MODAL = "opens_modal"  # a command's extras key: its first answer must be the modal


async def acknowledge_privately(interaction: discord.Interaction) -> None:
    """Defer with a private "thinking…", unless the interaction was answered already.

    The one place every command and vote is acknowledged: the 3 s deadline is met whatever comes
    next, and the deferral fixes the answer's visibility, so refusals stay private; public
    results are posted as a separate follow-up (`replies.publish`).
    """
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)
        metrics = getattr(interaction.client, "metrics", None)
        if metrics is not None:
            waited = discord.utils.utcnow() - interaction.created_at
            metrics.ack_seconds.observe(max(waited.total_seconds(), 0.0))


class BotTree(app_commands.CommandTree):
    """Acknowledges every command before it runs, and ends every failure in one handler."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        command = interaction.command
        is_command = interaction.type is discord.InteractionType.application_command
        if is_command and getattr(interaction.client, "stopping", False):
            await reply_privately(interaction, RESTARTING)
            return False
        if is_command and not (command is not None and command.extras.get(OPENS_MODAL)):
            await acknowledge_privately(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        await report_error(interaction, error)
