"""Moderator configuration: which public links a channel votes on, and who may vote."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from pydantic import SecretStr

from i18n.message import Channel, Listing, Message, Name, msg, msg_n
from services.actor import Actor
from services.clock import Clock
from services.errors import BadInput, NotAllowed, invalid_token
from storage.errors import LinkNameTaken
from storage.interface import Storage
from storage.models import ChannelLink, LinkCard, NewLink, VoteInterval
from tracker.client import check_token
from tracker.errors import InvalidGameRequest


class BotPermission(Enum):
    """A channel permission the bot needs to post there."""

    VIEW_CHANNEL = "view_channel"
    SEND_MESSAGES = "send_messages"
    SEND_MESSAGES_IN_THREADS = "send_messages_in_threads"
    EMBED_LINKS = "embed_links"


@dataclass(frozen=True)
class ChannelChoice:
    """A channel a moderator named or typed in, as far as our rules care.

    `guild_id` is the server our cache puts it in (None: unknown); `takes_messages` says whether
    the bot can post there at all, `member_can_view` whether the moderator may see it,
    `member_can_post` whether they may also write there themselves, `bot_lacks` which of the
    permissions it needs the bot has not there.
    """

    id: int
    guild_id: int | None
    takes_messages: bool
    member_can_view: bool
    member_can_post: bool
    bot_lacks: frozenset[BotPermission]


@dataclass(frozen=True)
class LinkRequest:
    """What `/links add` or `/propose` asks for, as typed: checked by `LinkAdmin.check`."""

    link_token: str
    name: str | None
    channel: ChannelChoice | None
    interval: VoteInterval = VoteInterval.DAILY
    anonymous_allowed: bool = True


@dataclass(frozen=True)
class LinkDraft:
    """A link that passed every check of `/links add`, not stored yet; `name` None: the first
    free default name when it is stored."""

    guild_id: int
    channel_id: int
    name: str | None
    link_token: SecretStr
    interval: VoteInterval
    anonymous_allowed: bool

    @property
    def where(self) -> tuple[int, int]:
        return self.guild_id, self.channel_id


@dataclass(frozen=True)
class VisibleLinks:
    """The server's links in channels the moderator can view, and how many others there are."""

    links: list[ChannelLink]
    left_out: int


@dataclass(frozen=True)
class RemovedLink:
    link: ChannelLink
    cards: list[LinkCard]


OTHER_SERVER_CHANNEL = msg("That channel is not in this server.")
# Named as Discord's channel settings name them, in the reader's language.
PERMISSION_NAMES = {
    # TRANSLATORS: Discord's name of this permission as Discord shows it, quoted if usual.
    BotPermission.VIEW_CHANNEL: msg("View Channel"),
    # TRANSLATORS: Discord's name of this permission as Discord shows it, quoted if usual.
    BotPermission.SEND_MESSAGES: msg("Send Messages"),
    # TRANSLATORS: Discord's name of this permission as Discord shows it, quoted if usual.
    BotPermission.SEND_MESSAGES_IN_THREADS: msg("Send Messages in Threads"),
    # TRANSLATORS: Discord's name of this permission as Discord shows it, quoted if usual.
    BotPermission.EMBED_LINKS: msg("Embed Links"),
}
# What each permission depends on: Discord denies it whenever one of these is missing.
DEPENDS_ON = {
    BotPermission.SEND_MESSAGES: frozenset({BotPermission.VIEW_CHANNEL}),
    BotPermission.SEND_MESSAGES_IN_THREADS: frozenset({BotPermission.VIEW_CHANNEL}),
    BotPermission.EMBED_LINKS: frozenset(
        {
            BotPermission.VIEW_CHANNEL,
            BotPermission.SEND_MESSAGES,
            BotPermission.SEND_MESSAGES_IN_THREADS,
        }
    ),
}
# A card is an embed; a log line is plain text.
CARD_NEEDS = frozenset(PERMISSION_NAMES)
LOG_NEEDS = CARD_NEEDS - {BotPermission.EMBED_LINKS}
NAME_RULE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
DEFAULT_NAME = "link"


def typed_name(name: str) -> str:
    """A link name as typed, in the one form names are stored and compared in.

    Case, spaces around it and spaces inside it (which become `-`) do not matter, wherever a
    name is typed: `/links`, `/vote` and their autocompletes.
    """
    return "-".join(name.strip().lower().split())


def normalise_name(name: str) -> str:
    """Names are typed in commands and shown in messages: keep them short, plain and unambiguous."""
    candidate = typed_name(name)
    if not NAME_RULE.fullmatch(candidate):
        raise BadInput(
            msg(
                "A link name is 1 to 32 characters: lowercase letters, digits, `-` and `_`, "
                "starting with a letter or digit."
            )
        )
    return candidate


class LinkAdmin:
    def __init__(self, db: Storage, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def add(self, actor: Actor, request: LinkRequest) -> ChannelLink:
        actor.require_manager()
        draft = await self.check(actor, request)
        existing = {link.name for link in await self._db.links_in_channel(*draft.where)}
        name = draft.name or _free_default_name(existing)
        link = NewLink(
            guild_id=draft.guild_id,
            channel_id=draft.channel_id,
            name=name,
            link_token=draft.link_token,
            interval=draft.interval,
            anonymous_allowed=draft.anonymous_allowed,
            added_by=actor.user_id,
            locale=actor.guild_locale,
        )
        try:
            return await self._db.add_link(link, now=self._clock())
        except LinkNameTaken:
            raise BadInput(name_taken(name)) from None

    async def check(self, actor: Actor, request: LinkRequest) -> LinkDraft:
        """Every check `add` makes before it stores anything; a proposal is checked the same way
        when it is made, and again when a moderator approves it."""
        guild_id, _ = actor.require_channel()
        channel_id = self._channel_in(guild_id, actor, request.channel)
        _posting_allowed(request.channel, CARD_NEEDS)
        token = SecretStr(request.link_token.strip())
        try:
            check_token(token, "link token")
        except InvalidGameRequest as error:
            raise invalid_token(error, link=True) from None
        name = None if request.name is None else normalise_name(request.name)
        for link in await self._db.links_in_guild(guild_id):
            if secrets.compare_digest(link.link_token.get_secret_value(), token.get_secret_value()):
                raise BadInput(
                    msg(
                        "That link token is already set up in this server: link {link} in "
                        "{channel}.",
                        link=Name(link.name),
                        channel=Channel(link.channel_id),
                    )
                )
            if name is not None and (link.channel_id, link.name) == (channel_id, name):
                raise BadInput(name_taken(name))
        return LinkDraft(
            guild_id=guild_id,
            channel_id=channel_id,
            name=name,
            link_token=token,
            interval=request.interval,
            anonymous_allowed=request.anonymous_allowed,
        )

    async def find_to_post(
        self,
        actor: Actor,
        name: str,
        channel: ChannelChoice | None,
        channel_of: Callable[[int], ChannelChoice | None],
    ) -> ChannelLink:
        """A link whose card the moderator asks the bot to post in its channel.

        `channel_of` gives the link's channel with the moderator's and the bot's permissions there,
        when the moderator named no channel (None: not known here, so Discord decides).
        """
        _posting_allowed(channel, CARD_NEEDS)
        link = await self.find(actor, name, channel)
        if channel is None:
            _posting_allowed(channel_of(link.channel_id), CARD_NEEDS)
        return link

    async def find_to_read(
        self,
        actor: Actor,
        name: str,
        channel: ChannelChoice | None,
        channel_of: Callable[[int], ChannelChoice | None],
    ) -> ChannelLink:
        """A link whose votes the moderator asks to read: only in a channel they can view.

        `channel_of` gives the link's channel with the moderator's permissions there, when the
        moderator named no channel (None: a channel the bot does not know, so not viewable).
        """
        if channel is not None:
            _viewing_allowed(channel, channel.id)
        link = await self.find(actor, name, channel)
        if channel is None:
            _viewing_allowed(channel_of(link.channel_id), link.channel_id)
        return link

    async def find(self, actor: Actor, name: str, channel: ChannelChoice | None) -> ChannelLink:
        """A link by name: in the channel named, else in the moderator's own channel, else in
        whichever channel of the server has it; several such channels must be chosen from."""
        if channel is not None:
            guild_id, channel_id = self._target(actor, channel)
            wanted = normalise_name(name)
            for link in await self._db.links_in_channel(guild_id, channel_id):
                if link.name == wanted:
                    return link
            raise BadInput(no_such_link(channel_id, wanted))
        guild_id = actor.require_manager()
        wanted = normalise_name(name)
        named = [link for link in await self._db.links_in_guild(guild_id) if link.name == wanted]
        here = [link for link in named if link.channel_id == actor.channel_id]
        if here or len(named) == 1:
            return (here or named)[0]
        if not named:
            raise BadInput(msg("This server has no link named {name}.", name=Name(wanted)))
        raise BadInput(
            msg(
                "Several channels have a link named {name}: {channels}. Name the one you mean "
                "with the `channel` option.",
                name=Name(wanted),
                channels=Listing(tuple(Channel(link.channel_id) for link in named)),
            )
        )

    async def remove(self, actor: Actor, name: str, channel: ChannelChoice | None) -> RemovedLink:
        """Remove the link; its cards are returned so their buttons can be disabled."""
        link = await self.find(actor, name, channel)
        cards = await self._db.cards_of_link(link.id)
        removed = await self._db.remove_link(link.guild_id, link.channel_id, link.name)
        if removed is None:  # removed by someone else in between
            raise BadInput(no_such_link(link.channel_id, link.name))
        return RemovedLink(link=removed, cards=cards)

    async def in_guild(self, actor: Actor, can_view: Callable[[int], bool]) -> VisibleLinks:
        """`can_view(channel_id)`: whether the moderator can view that channel, as for reading."""
        links = await self._db.links_in_guild(actor.require_manager())
        visible = [link for link in links if can_view(link.channel_id)]
        return VisibleLinks(visible, len(links) - len(visible))

    async def matching(
        self, actor: Actor, channel_id: int | None, typed: str, can_view: Callable[[int], bool]
    ) -> list[ChannelLink]:
        """Links for a name's autocomplete: the named channel's, or (None) the server's, the
        moderator's own channel first; only in channels the moderator can view, as in a list."""
        if actor.guild_id is None or not actor.manage_guild:
            return []
        if channel_id is not None:
            links = await self._db.links_in_channel(actor.guild_id, channel_id)
        else:
            links = await self._db.links_in_guild(actor.guild_id)
            links.sort(key=lambda link: (link.channel_id != actor.channel_id, link.name))
        start = typed_name(typed)
        return [
            link for link in links if link.name.startswith(start) and can_view(link.channel_id)
        ][:25]

    async def set_voter_role(
        self, actor: Actor, role_id: int | None, role_guild_id: int | None
    ) -> None:
        guild_id = actor.require_manager()
        if role_id is not None:
            self._same_guild(guild_id, role_guild_id, msg("That role is not in this server."))
        await self._db.set_voter_role(guild_id, role_id)

    async def set_log_channel(self, actor: Actor, channel: ChannelChoice | None) -> None:
        guild_id = actor.require_manager()
        if channel is not None:
            self._same_guild(guild_id, channel.guild_id, OTHER_SERVER_CHANNEL)
            _posting_allowed(channel, LOG_NEEDS)
        await self._db.set_log_channel(guild_id, channel.id if channel is not None else None)

    async def log_channel(self, guild_id: int) -> int | None:
        return (await self._db.guild_settings(guild_id)).log_channel_id

    @classmethod
    def _target(cls, actor: Actor, channel: ChannelChoice | None) -> tuple[int, int]:
        """The moderator's server and the channel they named, or the one they are in."""
        guild_id = actor.require_manager()
        return guild_id, cls._channel_in(guild_id, actor, channel)

    @classmethod
    def _channel_in(cls, guild_id: int, actor: Actor, channel: ChannelChoice | None) -> int:
        if channel is None:
            _, channel_id = actor.require_channel()
            return channel_id
        cls._same_guild(guild_id, channel.guild_id, OTHER_SERVER_CHANNEL)
        return channel.id

    @staticmethod
    def _same_guild(guild_id: int, other_guild_id: int | None, refusal: Message) -> None:
        """A crafted interaction may name a channel or role of another server."""
        if other_guild_id != guild_id:
            raise NotAllowed(refusal)


def name_taken(name: str) -> Message:
    return msg(
        "That channel already has a link named {name}; choose another name.", name=Name(name)
    )


def no_such_link(channel_id: int, name: str) -> Message:
    return msg("{channel} has no link named {name}.", channel=Channel(channel_id), name=Name(name))


def _viewing_allowed(channel: ChannelChoice | None, channel_id: int) -> None:
    """Refuse a channel the moderator cannot view (None: one the bot does not know)."""
    if channel is None or not channel.member_can_view:
        raise NotAllowed(
            msg(
                "You cannot view {channel} yourself, so the bot does not show you its "
                "links' votes.",
                channel=Channel(channel_id),
            )
        )


def _posting_allowed(channel: ChannelChoice | None, needs: frozenset[BotPermission]) -> None:
    """The bot posts cards and log lines only where messages go, the moderator may write, and
    the bot itself has the permissions it `needs`."""
    if channel is None:
        return
    if not channel.takes_messages:
        raise BadInput(
            msg(
                "{channel} cannot hold messages: choose a text, voice, announcement or stage "
                "channel, or a thread.",
                channel=Channel(channel.id),
            )
        )
    if not channel.member_can_post:
        raise NotAllowed(
            msg(
                "You cannot see or write in {channel} yourself, so the bot does not post there "
                "for you.",
                channel=Channel(channel.id),
            )
        )
    lacking = channel.bot_lacks & needs
    # Name only what is missing at the root: the rest follows once it is granted.
    roots = {each for each in lacking if not lacking & DEPENDS_ON.get(each, frozenset())}
    if roots:
        names = tuple(PERMISSION_NAMES[each] for each in BotPermission if each in roots)
        raise NotAllowed(
            msg_n(
                "The bot lacks the {permissions} permission in {channel}. Grant it there (in the "
                "channel's permissions, to the bot or one of its roles), then try again.",
                "The bot lacks the {permissions} permissions in {channel}. Grant them there (in "
                "the channel's permissions, to the bot or one of its roles), then try again.",
                len(names),
                permissions=Listing(names),
                channel=Channel(channel.id),
            )
        )


def _free_default_name(existing: set[str]) -> str:
    if DEFAULT_NAME not in existing:
        return DEFAULT_NAME
    number = 2
    while f"{DEFAULT_NAME}-{number}" in existing:
        number += 1
    return f"{DEFAULT_NAME}-{number}"
