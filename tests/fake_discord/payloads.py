"""Build interaction payloads the way Discord sends them, named from a test's point of view.

The fake fills what only Discord knows when it dispatches them: the interaction id and token,
`data.id` / `data.guild_id` and option types from the synced commands, the DM channel id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fake_discord.records import ModalSpec

JSON = dict[str, Any]

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
MEMBER_PERMISSIONS = (
    (1 << 6)  # add reactions
    | (1 << 10)  # view channel
    | (1 << 11)  # send messages
    | (1 << 14)  # embed links
    | (1 << 15)  # attach files
    | (1 << 16)  # read message history
    | (1 << 18)  # use external emojis
    | (1 << 31)  # use application commands
)
MODERATOR_PERMISSIONS = MEMBER_PERMISSIONS | MANAGE_GUILD
APP_PERMISSIONS = MEMBER_PERMISSIONS
ALL_PERMISSIONS = (1 << 53) - 1
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
# Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types).
GUILD_TEXT, GUILD_VOICE, GUILD_CATEGORY, GUILD_STAGE_VOICE, GUILD_FORUM, GUILD_MEDIA = (
    0,
    2,
    4,
    13,
    15,
    16,
)
CHANNEL_TYPES = frozenset({0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16})
VOICE_FIELDS = {"bitrate": 64000, "user_limit": 0, "rtc_region": None}
# Types without messages of their own: they hold channels or threads, or list servers.
WITHOUT_MESSAGES = frozenset({GUILD_CATEGORY, 14, GUILD_FORUM, GUILD_MEDIA})

JOINED_AT = "2024-01-01T00:00:00.000000+00:00"
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class User:
    """A Discord account as it appears outside any guild (DMs, `resolved.users`)."""

    id: int
    name: str
    global_name: str | None = None
    bot: bool = False
    locale: str = "en-US"  # the language of their Discord client, sent as `locale`

    def to_json(self) -> JSON:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass(frozen=True, slots=True)
class Member:
    """A guild member; `permissions` is what Discord computes for them in the channel."""

    user_id: int
    name: str
    roles: tuple[int, ...] = ()
    permissions: int = MEMBER_PERMISSIONS
    nick: str | None = None
    locale: str = "en-US"  # the language of their Discord client, sent as `locale`

    @property
    def id(self) -> int:
        return self.user_id

    @property
    def user(self) -> User:
        return User(self.user_id, self.name, locale=self.locale)

    def to_json(self, *, with_user: bool = True) -> JSON:
        data: JSON = {
            "roles": [str(role) for role in self.roles],
            "joined_at": JOINED_AT,
            "permissions": str(self.permissions),
            "nick": self.nick,
            "avatar": None,
            "premium_since": None,
            "communication_disabled_until": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
        }
        if with_user:
            data["user"] = self.user.to_json()
        return data


@dataclass(frozen=True, slots=True)
class Role:
    """A guild role, for GUILD_CREATE and role options."""

    id: int
    name: str
    permissions: int = 0
    position: int = 1

    def to_json(self) -> JSON:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass(frozen=True, slots=True)
class Channel:
    """A guild channel (type 0: text); its `guild_id` says where interactions come from."""

    id: int
    name: str
    guild_id: int | None = None
    type: int = 0
    position: int = 0
    parent_id: int | None = None
    denied: int = 0  # permissions an @everyone overwrite takes away in this channel
    # An overwrite for the bot's member: what it takes away from the bot here, and gives back.
    bot_denied: int = 0
    bot_allowed: int = 0

    def permissions_for(self, member: Member | None) -> int:
        """What Discord computes for the member here: administrators keep everything."""
        granted = MEMBER_PERMISSIONS if member is None else member.permissions
        if granted & ADMINISTRATOR:
            return ALL_PERMISSIONS
        return granted & ~self.denied

    def bot_permissions(self) -> int:
        """What Discord computes for the bot (in no role but @everyone) here."""
        return (MEMBER_PERMISSIONS & ~self.denied & ~self.bot_denied) | self.bot_allowed

    def to_json(self, bot_id: int | None = None) -> JSON:
        """`bot_id`: include the bot's member overwrite (GUILD_CREATE carries every overwrite)."""
        overwrites = []
        if self.denied and self.guild_id is not None:
            everyone = {"id": str(self.guild_id), "type": 0, "allow": "0", "deny": str(self.denied)}
            overwrites.append(everyone)
        if (self.bot_denied or self.bot_allowed) and bot_id is not None:
            allow, deny = str(self.bot_allowed), str(self.bot_denied)
            overwrites.append({"id": str(bot_id), "type": 1, "allow": allow, "deny": deny})
        return {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "guild_id": None if self.guild_id is None else str(self.guild_id),
            "position": self.position,
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "permission_overwrites": overwrites,
            "nsfw": False,
            "topic": None,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        } | (VOICE_FIELDS if self.type in (GUILD_VOICE, GUILD_STAGE_VOICE) else {})


OptionValue = str | int | float | bool | User | Member | Role | Channel
GROUP_DM = 3  # a channel type: a group DM, where an app is present only through a member


def user_installed(
    payload: JSON, *, group_dm: int | None = None, others: Sequence[User] = ()
) -> JSON:
    """The DM interaction `payload` as a member's own install of the app sends it: in the app's
    DM (context 1), or with `group_dm` (a channel id) in a group DM with `others`, where the
    app's bot user is not a member (context 2). Either way there is no guild."""
    if "guild_id" in payload:
        raise ValueError("build the interaction with user=…, not in a guild")
    user = payload["user"]
    payload = payload | {"authorizing_integration_owners": {"1": user["id"]}, "context": 1}
    if group_dm is None:
        return payload
    recipients = [user, *(other.to_json() for other in others)]
    channel = {
        "id": str(group_dm),
        "type": GROUP_DM,
        "flags": 0,
        "last_message_id": None,
        "name": None,
        "icon": None,
        "owner_id": user["id"],
        "recipients": recipients,
    }
    return payload | {"context": 2, "channel": channel, "channel_id": str(group_dm)}


def slash(
    command: str,
    *subcommands: str,
    options: Mapping[str, OptionValue] | None = None,
    member: Member | None = None,
    user: User | None = None,
    channel: Channel | None = None,
    guild_id: int | None = None,
) -> JSON:
    """A chat-input command (`/command [group] [subcommand] option:value …`).

    Option types follow the Python values (bool 5, int 4, float 10, str 3, User/Member 6,
    Channel 7, Role 8); the fake corrects them from the synced definition on dispatch.
    """
    data = _command_data(command, subcommands, options or {}, focused=None, member=member)
    return _interaction(2, data, member=member, user=user, channel=channel, guild_id=guild_id)


def autocomplete(
    command: str,
    *subcommands: str,
    focused: str,
    options: Mapping[str, OptionValue],
    member: Member | None = None,
    user: User | None = None,
    channel: Channel | None = None,
    guild_id: int | None = None,
) -> JSON:
    """An autocomplete request while the member types into option `focused`."""
    if focused not in options:
        raise ValueError(f"the focused option {focused!r} needs a value in options")
    data = _command_data(command, subcommands, options, focused=focused, member=member)
    return _interaction(4, data, member=member, user=user, channel=channel, guild_id=guild_id)


def button_click(
    custom_id: str,
    *,
    message_id: int,
    member: Member | None = None,
    user: User | None = None,
    channel: Channel | None = None,
    component_type: int = 2,
    values: Sequence[str] = (),
    guild_id: int | None = None,
) -> JSON:
    """A click on a button (or a choice in a select: pass `component_type` and `values`)."""
    data: JSON = {"custom_id": custom_id, "component_type": component_type}
    if component_type != 2:
        data["values"] = list(values)
    payload = _interaction(3, data, member=member, user=user, channel=channel, guild_id=guild_id)
    payload["message"] = {"id": str(message_id)}
    return payload


def modal_submit(
    modal: ModalSpec | str,
    fields: Mapping[str, str | Sequence[str]],
    *,
    member: Member | None = None,
    user: User | None = None,
    channel: Channel | None = None,
    guild_id: int | None = None,
) -> JSON:
    """A modal submission; given the modal the bot sent, it mirrors its layout as Discord does.

    Text inputs take a string, selects inside labels a list of values. With only a custom id,
    every field is sent as a text input in its own action row.
    """
    if isinstance(modal, str):
        custom_id = modal
        components = [
            {"type": 1, "components": [{"type": 4, "custom_id": name, "value": value}]}
            for name, value in fields.items()
        ]
    else:
        custom_id = modal.custom_id
        components = _mirror_modal(modal, fields)
    data = {"custom_id": custom_id, "components": components}
    return _interaction(5, data, member=member, user=user, channel=channel, guild_id=guild_id)


def _mirror_modal(modal: ModalSpec, fields: Mapping[str, str | Sequence[str]]) -> list[JSON]:
    inputs = modal.inputs()
    unknown = set(fields) - set(inputs)
    if unknown:
        raise AssertionError(f"modal {modal.custom_id!r} has no field {sorted(unknown)}: {inputs}")
    missing = [n for n, spec in inputs.items() if spec.get("required", True) and n not in fields]
    if missing:
        raise AssertionError(f"modal {modal.custom_id!r} requires {missing}")

    def answer(component: JSON) -> JSON:
        value = fields.get(component["custom_id"], "")
        if component["type"] == 4:
            return {"type": 4, "custom_id": component["custom_id"], "value": value}
        values = [value] if isinstance(value, str) else list(value)
        return {"type": component["type"], "custom_id": component["custom_id"], "values": values}

    mirrored: list[JSON] = []
    for top in modal.components:
        if top["type"] == 1:
            row = [answer(c) for c in top["components"] if "custom_id" in c]
            mirrored.append({"type": 1, "components": row})
        elif top["type"] == 18:
            mirrored.append({"type": 18, "component": answer(top["component"])})
    return mirrored


def _command_data(
    command: str,
    subcommands: Sequence[str],
    options: Mapping[str, OptionValue],
    *,
    focused: str | None,
    member: Member | None,
) -> JSON:
    if len(subcommands) > 2:
        raise ValueError("Discord nests at most a group and a subcommand")
    resolved: dict[str, JSON] = {}
    leaf = [
        _option(name, value, resolved, focused == name, member) for name, value in options.items()
    ]
    for depth, name in reversed(list(enumerate(subcommands))):
        kind = 2 if depth == 0 and len(subcommands) == 2 else 1
        leaf = [{"name": name, "type": kind, "options": leaf}]
    data: JSON = {"name": command, "type": 1, "options": leaf}
    if resolved:
        data["resolved"] = resolved
    return data


def _option(
    name: str, value: OptionValue, resolved: dict[str, JSON], focused: bool, member: Member | None
) -> JSON:
    option: JSON = {"name": name}
    match value:
        case bool():
            option |= {"type": 5, "value": value}
        case int():
            option |= {"type": 4, "value": value}
        case float():
            option |= {"type": 10, "value": value}
        case str():
            option |= {"type": 3, "value": value}
        case Member():
            option |= {"type": 6, "value": str(value.id)}
            resolved.setdefault("users", {})[str(value.id)] = value.user.to_json()
            member = value.to_json(with_user=False)
            resolved.setdefault("members", {})[str(value.id)] = member
        case User():
            option |= {"type": 6, "value": str(value.id)}
            resolved.setdefault("users", {})[str(value.id)] = value.to_json()
        case Role():
            option |= {"type": 8, "value": str(value.id)}
            resolved.setdefault("roles", {})[str(value.id)] = value.to_json()
        case Channel():
            option |= {"type": 7, "value": str(value.id)}
            # A resolved channel carries the invoking member's permissions in it.
            channel = value.to_json() | {"permissions": str(value.permissions_for(member))}
            resolved.setdefault("channels", {})[str(value.id)] = channel
    if focused:
        option |= {"value": str(option["value"]), "focused": True}
    return option


def _interaction(
    kind: int,
    data: JSON,
    *,
    member: Member | None,
    user: User | None,
    channel: Channel | None,
    guild_id: int | None,
) -> JSON:
    speaker = member or user
    payload: JSON = {
        "type": kind,
        "data": data,
        "version": 1,
        "locale": speaker.locale if speaker is not None else "en-US",
        "app_permissions": str(APP_PERMISSIONS),
        "entitlements": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    guild_id = guild_id if guild_id is not None else channel and channel.guild_id
    if guild_id is not None:
        if member is None or channel is None:
            raise ValueError("an interaction in a guild needs a member and a channel")
        permissions = channel.permissions_for(member)  # the member's, in this channel
        return payload | {
            "guild_id": str(guild_id),
            "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
            "guild_locale": "en-US",
            "channel_id": str(channel.id),
            "channel": channel.to_json() | {"permissions": str(permissions)},
            "member": member.to_json() | {"permissions": str(permissions)},
            "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0,
        }
    actor = user or (member and member.user)
    if actor is None:
        raise ValueError("an interaction in DMs needs a user")
    dm = {"type": 1, "flags": 0, "last_message_id": None, "recipients": [actor.to_json()]}
    if channel is not None:
        dm["id"] = str(channel.id)
        payload["channel_id"] = str(channel.id)
    return payload | {
        "user": actor.to_json(),
        "channel": dm,
        "authorizing_integration_owners": {"0": "0"},
        "context": 1,
    }
