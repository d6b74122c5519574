"""What the storage layer hands out: frozen values, never rows, with secrets hidden from reprs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from pydantic import SecretStr


class VoteInterval(StrEnum):
    """How often one voter may vote on a link, as the session owner configured it."""

    ONCE = "once"
    DAILY = "daily"


class LedgerStatus(StrEnum):
    """Where a game call stands: sent or about to be, answered, refused, or lost in between."""

    PENDING = "pending"
    PLAYED = "played"
    REFUSED = "refused"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Account:
    """A member's connection to the tracker."""

    user_id: int
    api_token: SecretStr
    default_session: int | None
    connected_at: datetime
    last_used_at: datetime | None
    token_rejected: bool


@dataclass(frozen=True)
class ChannelLink:
    """A session's public vote link that a guild offers in one channel."""

    id: int
    guild_id: int
    channel_id: int
    name: str
    link_token: SecretStr
    interval: VoteInterval
    anonymous_allowed: bool
    added_by: int
    added_at: datetime
    session_id: int | None
    locale: str | None = None  # the server's Discord locale, for public messages


@dataclass(frozen=True, kw_only=True)
class NewLink:
    """A link a moderator is about to offer in a channel; keywords only, as three fields are ids."""

    guild_id: int
    channel_id: int
    name: str
    link_token: SecretStr
    added_by: int
    interval: VoteInterval = VoteInterval.DAILY
    anonymous_allowed: bool = True
    locale: str | None = None  # the server's Discord locale, for public messages


@dataclass(frozen=True)
class GuildSettings:
    """Per-guild choices made by its managers."""

    guild_id: int
    voter_role_id: int | None
    log_channel_id: int | None
    language: str | None = None  # of the public messages; None: Discord's server language


@dataclass(frozen=True)
class NewCall:
    """Who is about to make which game call, recorded before it is sent."""

    user_id: int
    guild_id: int | None
    channel_id: int | None
    link_id: int | None
    session_id: int | None
    game: str
    dom: bool
    vote_type: str | None
    anonymous: bool
    interaction_id: int | None = None  # the Discord interaction the call answers
    voter_name: str | None = None  # the member's display name; None for anonymous votes


@dataclass(frozen=True)
class PlayedResult:
    """What the tracker reported for a call it played."""

    operation: str | None
    seconds: int | None
    multiplier: float | None
    penalty: bool
    scheduled_end: datetime | None
    session_id: int | None


@dataclass(frozen=True)
class LedgerEntry:
    """One game call as the ledger knows it."""

    id: int
    created_at: datetime
    finished_at: datetime | None
    user_id: int | None  # None: the voter was forgotten (on request, or by retention)
    guild_id: int | None
    channel_id: int | None
    link_id: int | None
    session_id: int | None
    game: str
    dom: bool
    vote_type: str | None
    anonymous: bool
    status: LedgerStatus
    operation: str | None
    seconds: int | None
    multiplier: float | None
    penalty: bool
    scheduled_end: datetime | None
    reason: str | None
    message: str | None
    voter_name: str | None = None


@dataclass(frozen=True)
class LinkCard:
    """A message in a channel that shows a link's tally and carries its vote buttons."""

    message_id: int
    link_id: int
    channel_id: int
    posted_at: datetime


@dataclass(frozen=True)
class LinkTally:
    identified: int
    anonymous: int
    identified_today: int
    anonymous_today: int
    seconds_added: int
    seconds_removed: int
    last_vote: LedgerEntry | None


@dataclass(frozen=True)
class DayCount:
    """A link's played public votes on one UTC day."""

    day: date
    identified: int
    anonymous: int
    adds: int
    subs: int
    seconds_added: int
    seconds_removed: int


@dataclass(frozen=True)
class VoterActivity:
    """One member's played votes on a link in a period, and the time they moved in total."""

    user_id: int
    votes: int
    net_seconds: int


@dataclass(frozen=True)
class EndPoint:
    """The session's scheduled end as a played vote cast at `at` reported it."""

    at: datetime
    scheduled_end: datetime
    penalty: bool


@dataclass(frozen=True)
class LinkStats:
    """What `/stats` shows of a link since a moment: few rows, whatever the ledger's size.

    `ends` holds at most one point per slice of the period (the latest in it), `penalties` the
    latest penalties only.
    """

    days: list[DayCount]
    top_voters: list[VoterActivity]
    ends: list[EndPoint]
    penalties: list[EndPoint]
    last_vote: LedgerEntry | None


@dataclass(frozen=True)
class DueReminder:
    """A member's vote whose limit has run out, and the link they may vote on again."""

    ledger_id: int
    user_id: int
    link_id: int
    link_name: str
    guild_id: int
    channel_id: int
    reopened_at: datetime
    locale: str | None = None  # the member's Discord locale as last seen


@dataclass(frozen=True)
class MemberCall:
    """One ledger row of a member, with the name of its link while the link exists."""

    entry: LedgerEntry
    link_name: str | None


@dataclass(frozen=True)
class MemberRecord:
    """Everything the bot keeps about one member, for `/account data`."""

    user_id: int
    account: Account | None
    reminders_on: bool
    locale: str | None  # the language kept for reminder DMs
    name_hidden: bool
    calls: list[MemberCall]


@dataclass(frozen=True)
class DatabaseReport:
    """What `check-config` says about a database, on either backend."""

    exists: bool
    schema_version: int = 0
    known_version: int = 0
    integrity: str = "ok"
    key_fits: bool = True


@dataclass(frozen=True)
class NewProposal:
    """A link a member proposes for their server: what `/links add` would bind, once approved."""

    guild_id: int
    channel_id: int
    proposer_id: int
    name: str | None  # None: the first free default name when it is approved
    link_token: SecretStr
    interval: VoteInterval
    anonymous_allowed: bool
    proposer_locale: str | None = None  # for the direct message that tells them the decision
    guild_locale: str | None = None  # for the proposal's message in the moderators' log


@dataclass(frozen=True)
class LinkProposal:
    """An open proposal; `message_id` is its message in the log channel, once posted."""

    id: int
    guild_id: int
    channel_id: int
    proposer_id: int
    name: str | None
    link_token: SecretStr
    interval: VoteInterval
    anonymous_allowed: bool
    proposer_locale: str | None
    guild_locale: str | None
    created_at: datetime
    log_channel_id: int | None
    message_id: int | None


@dataclass(frozen=True)
class VoterOnLink:
    """What a vote needs to know of its member before it goes out, read in one round trip."""

    account: Account | None
    # The vote that limits the next: the member's own, or without an account the link's
    # shared anonymous one.
    last_vote: LedgerEntry | None
    # An earlier penalty on the link proves the member owns its session.
    had_penalty: bool
    # Whether the member asked not to be named in public: read before the call, as once it is
    # sent nothing may delay announcing its result.
    name_hidden: bool
