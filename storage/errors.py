"""Errors the storage layer raises on purpose; each message is safe to show a moderator."""

from __future__ import annotations

# The start of every StorageUnavailable raised by a statement that failed (not by opening).
DATABASE_UNAVAILABLE = "the database cannot be used"
# Each database operation's deadline unless DATABASE_TIMEOUT_SECONDS says otherwise (both backends).
DEFAULT_TIMEOUT_SECONDS = 5.0


class StorageError(Exception):
    """Base for storage failures the bot can explain, as opposed to bugs."""


class StorageUnavailable(StorageError):
    """A file cannot be created, opened, read or written: a full disk, a folder that is not one,
    a database locked or damaged. Nothing was changed; the message says which file and why."""


class InvalidTokenKey(StorageError):
    """The configured or stored TOKEN_KEY is not a Fernet key at all."""


class WrongTokenKey(StorageError):
    """The key cannot decrypt what the database holds, so it is not the one it was created with."""


class LinkNameTaken(StorageError):
    """A channel already has a link of that name."""


class LinkRemoved(StorageError):
    """The link a call was about to be recorded for has just been removed."""


class EntryNotPending(StorageError):
    """A ledger entry can be finished once only, and only if it exists."""


class InteractionSeen(StorageError):
    """The ledger already has a call for this Discord interaction: it was delivered twice."""


class CallUnderWay(StorageError):
    """The same voter's call on the same link (or the same game) is pending: one at a time."""


class VoteAlreadyCounted(StorageError):
    """The voter has a counted vote within the link's limit; nothing was written."""


class ProposalOpen(StorageError):
    """The member already has an open proposal in this server."""
