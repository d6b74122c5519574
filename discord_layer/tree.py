"""The one error handler: each failure becomes one private sentence; surprises get a reference."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import discord
from discord import app_commands

from discord_layer.replies import reply_privately
from discord_layer.vote_limits import limit_refusal
from i18n.message import (
    Channel,
    Member,
    Message,
    Moment,
    Name,
    Outside,
    Term,
    followed_by,
    msg,
)
from services.calls import RESTARTING
from services.commands import ACCOUNT_CONNECT, HELP_ACCOUNT
from services.errors import UserError, VoteLimited, invalid_session
from services.throttle import TRACKER_PAUSED
from storage.errors import InteractionSeen, StorageUnavailable
from tracker import errors

log = logging.getLogger(__name__)

ALREADY_ACKNOWLEDGED = 40060  # Discord's code: "Interaction has already been acknowledged."
TOO_MANY_REQUESTS = 429
UNKNOWN_OUTCOME = msg(
    "The tracker did not answer properly, so this may or may not have counted. "
    "Check the session on the tracker before trying again."
)
TRACKER_REFUSED = msg("The tracker refused the request, so nothing changed.")
OPTION_UNUSABLE = msg("One of the options has a value this command cannot use.")
STORAGE_UNAVAILABLE = msg(
    "The bot cannot use its database right now, so nothing was done and nothing was sent to "
    "the tracker. Try again later; if this keeps happening, tell whoever runs the bot."
)
# discord.py tries an answer five times through Discord's 429s, then gives up; the work before it
# (a vote, a new link) may be done.
DISCORD_LIMITED = msg(
    "Discord kept refusing the bot's answer (too many requests at once). What you asked for may "
    "have been done: check before you try again."
)
OUTDATED_COMMAND = msg(
    "This command arrived without options it needs; Discord may still show an older version of "
    "it. Reload Discord and try again."
)
# The tracker's own error codes that deserve a sentence of their own; its text goes to the log.
REJECTION_CODES = {
    "COOLDOWN": msg(
        "The tracker says the vote limit is reached, so your vote was not counted. "
        "Try again when the link reopens."
    ),
    "VALIDATION": msg(
        "The tracker found the request incomplete or invalid, so nothing changed. "
        "Check the options and try again."
    ),
}


def _slow_down(error: errors.RateLimited) -> Message:
    """The same sentence as for the calls held back after it (`throttle.TRACKER_PAUSED`)."""
    if error.retry_after:
        until = discord.utils.utcnow() + timedelta(seconds=error.retry_after)
        return replace(TRACKER_PAUSED, params={"when": Moment(until, "relative")})
    return msg("The tracker asked the bot to wait, so nothing was sent. Try again in a moment.")


def _invalid(error: errors.InvalidGameRequest) -> Message:
    if error.code in ("session_type", "session_range"):
        return invalid_session(error).message
    return OPTION_UNUSABLE


# Most specific first: the first matching type decides the sentence.
TRACKER_TEXTS: list[tuple[type[errors.TrackerError], Callable[[Any], Message]]] = [
    (errors.InvalidGameRequest, _invalid),
    (
        errors.Unauthorized,
        lambda e: msg(
            "The tracker rejected your API token. Connect again with {connect} using a current "
            "token; {help} explains where it is found.",
            connect=ACCOUNT_CONNECT,
            help=HELP_ACCOUNT,
        ),
    ),
    (
        errors.Forbidden,
        lambda e: msg(
            "The tracker refused: this session is not yours, or your account is not registered "
            "as its dom."
        ),
    ),
    (
        errors.NotFound,
        lambda e: msg(
            "The tracker does not know this link or session; check the id, or ask a moderator to "
            "check the link."
        ),
    ),
    (errors.RequestRejected, lambda e: REJECTION_CODES.get(e.code or "", TRACKER_REFUSED)),
    (errors.RateLimited, _slow_down),
    (
        errors.TrackerUnreachable,
        lambda e: msg(
            "The tracker could not be reached, so nothing was sent. Try again in a moment."
        ),
    ),
    (errors.TrackerRefused, lambda e: TRACKER_REFUSED),
    (errors.OutcomeUnknown, lambda e: UNKNOWN_OUTCOME),
]


def explain(error: BaseException) -> Message | None:
    """The member-facing sentence for an error we expect, or None for a surprise."""
    if isinstance(error, UserError):
        return error.message
    if isinstance(error, VoteLimited):
        return limit_refusal(error.limit)
    if isinstance(error, StorageUnavailable):
        return STORAGE_UNAVAILABLE
    if isinstance(error, errors.TrackerError):
        for kind, text in TRACKER_TEXTS:
            if isinstance(error, kind):
                if error.hint is None:
                    return text(error)
                return followed_by(text(error), error.hint)
    if isinstance(error, discord.HTTPException) and error.status == TOO_MANY_REQUESTS:
        return DISCORD_LIMITED
    if isinstance(error, app_commands.TransformerError):
        return OPTION_UNUSABLE
    if isinstance(error, app_commands.CommandSignatureMismatch):
        return OUTDATED_COMMAND
    if isinstance(error, app_commands.NoPrivateMessage):
        return msg("This command works only in a server channel.")
    if isinstance(error, app_commands.CheckFailure):
        return msg("You may not use this command here.")
    return None


def answered_elsewhere(error: BaseException) -> bool:
    """The interaction reached us twice (two sessions during a restart, or two processes).

    Discord accepts one acknowledgement (a second fails with 40060) and the ledger one call per
    interaction; the delivery that lost answers nothing, as the other one answers.
    """
    if isinstance(error, discord.HTTPException):
        return error.code == ALREADY_ACKNOWLEDGED
    return isinstance(error, InteractionSeen)


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Answer privately; unknown errors are logged with a reference id the member can quote."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if answered_elsewhere(error):
        log.info("interaction %s is answered by another delivery; this one stops", interaction.id)
        return
    text = explain(error)
    metrics = getattr(interaction.client, "metrics", None)
    if metrics is not None:
        metrics.error(error, explained=text is not None)
    if isinstance(error, StorageUnavailable):
        log.error("storage unavailable in /%s: %s", _command_name(interaction), error)
    elif text is DISCORD_LIMITED:
        log.warning("Discord kept answering 429 in /%s; gave up", _command_name(interaction))
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
        text = msg(
            "Sorry, something went wrong on our side. If this keeps happening, give this "
            "reference to whoever runs the bot: {reference}.",
            reference=Name(reference),
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
    status = f"HTTP {error.status}, " if error.status else ""
    details = Outside(f"{status}{error.reason}: {error.message}")
    who, where = Member(interaction.user.id), Channel(interaction.channel_id or 0)
    text = error.logged or (
        msg(
            "Tracker error on {command} by {member} in {channel}: {details}",
            command=Term(f"/{interaction.command.qualified_name}"),
            member=who,
            channel=where,
            details=details,
        )
        if interaction.command
        else msg(
            "Tracker error on a vote button by {member} in {channel}: {details}",
            member=who,
            channel=where,
            details=details,
        )
    )
    await modlog.post_repeatable(
        interaction.guild_id,
        (interaction.channel_id, error.reason, error.status),
        text,
        interaction.guild_locale,
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


async def refused_while_stopping(interaction: discord.Interaction) -> bool:
    """A stopping bot answers what arrives "restarting" rather than begin work the stop could
    cut off before it answers; True when it did."""
    if not getattr(interaction.client, "stopping", False):
        return False
    await reply_privately(interaction, RESTARTING)
    return True


class BotTree(app_commands.CommandTree):
    """Acknowledges every command before it runs, and ends every failure in one handler."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        command = interaction.command
        is_command = interaction.type is discord.InteractionType.application_command
        if is_command and await refused_while_stopping(interaction):
            return False
        if is_command and not (command is not None and command.extras.get(OPENS_MODAL)):
            try:
                await acknowledge_privately(interaction)
            except discord.HTTPException as error:
                if not answered_elsewhere(error):
                    raise
                log.info("interaction %s was acknowledged by another delivery", interaction.id)
                return False
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        await report_error(interaction, error)


class MemberQuestion(discord.ui.View):
    """Buttons under a private question: only the member who asked can answer, and a failure
    ends in the one error handler."""

    def __init__(self, user_id: int) -> None:
        super().__init__(timeout=300)
        self.user_id = user_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.user_id

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        await report_error(interaction, error)
