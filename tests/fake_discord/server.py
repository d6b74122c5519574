"""The fake Discord a discord.py client logs into: its world, its test-facing API, its server."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fake_discord.commands import CommandRegistry
from tests.fake_discord.gateway import Gateway, Shard, shard_of
from tests.fake_discord.payloads import (
    ATTACHMENT_SIZE_LIMIT,
    EMBED_LINKS,
    JOINED_AT,
    MEMBER_PERMISSIONS,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    WITHOUT_MESSAGES,
    Channel,
    Role,
    User,
)
from tests.fake_discord.rate_limits import RateLimits
from tests.fake_discord.records import (
    DEFAULT_TIMEOUT,
    ApiError,
    Exchange,
    MessageStore,
    SentMessage,
)
from tests.fake_discord.rest import API, Rest
from tests.fake_discord.wire import Refusal, Snowflakes

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Self

JSON = dict[str, Any]

APPLICATION_FLAGS = 1 << 23  # "application command badge": the app has commands


@dataclass(frozen=True, slots=True)
class _Guild:
    id: int
    name: str
    roles: tuple[Role, ...]
    locale: str = "en-US"


class FakeDiscord:
    """Discord's REST API and gateway on 127.0.0.1, recording what the bot does.

    Add guilds, start it, point discord.py at `api_base` and log the bot in with `token`;
    then `interact()` sends interactions and returns an `Exchange` to assert on.
    """

    def __init__(self, *, bot_name: str = "ctvote") -> None:
        self.snowflakes = Snowflakes()
        self.application_id = self.snowflakes.next()
        self.application_flags = APPLICATION_FLAGS
        self.bot = User(self.application_id, bot_name, bot=True)
        self._token = secrets.token_urlsafe(32)
        self.ack_deadline = 3.0
        """Seconds an interaction waits for its first callback; read when it is dispatched."""
        self.token_lifetime = 15 * 60.0
        """Seconds an interaction token accepts follow-ups and edits."""
        self.errors: list[ApiError] = []
        """Every error answered, interaction or not (e.g. 50007 for closed DMs)."""
        self.unhandled: list[str] = []
        """Requests to routes the fake does not know (answered 404)."""
        self.rate_limits = RateLimits()
        """429s a test asks for on chosen routes."""
        self.requests: Counter[str] = Counter()
        """REST requests received, by method and route (`POST /webhooks/{application_id}/…`)."""
        self.store = MessageStore()
        self.commands = CommandRegistry(self.application_id, self.snowflakes)
        self.gateway = Gateway(
            token=self.token, ready=self._ready, guild_creates=self._guild_creates
        )
        self.api_base = ""
        self.gateway_url = ""
        self._rest = Rest(self)
        self._guilds: dict[int, _Guild] = {}
        self._channels: dict[int, Channel] = {}
        self._users: dict[int, JSON] = {}
        self._dm_channels: dict[int, int] = {}
        self._dm_users: dict[int, int] = {}
        self._closed_dms: set[int] = set()
        self._private_channels: set[int] = set()
        self._exchanges: dict[str, Exchange] = {}
        self._runner: web.AppRunner | None = None

    # Lifecycle

    async def start(self) -> None:
        # Room for uploads beyond the attachment limit: the limit is answered as Discord does.
        app = web.Application(
            middlewares=[self._rest.middleware], client_max_size=2 * ATTACHMENT_SIZE_LIMIT + 65536
        )
        app.add_routes(self._rest.routes())
        app.router.add_get("/gateway", self.gateway.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.api_base = f"http://127.0.0.1:{port}{API}"
        self.gateway_url = f"ws://127.0.0.1:{port}/gateway"

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def token(self) -> str:
        """The bot token the fake accepts (REST and IDENTIFY)."""
        return self._token

    @property
    def ready(self) -> asyncio.Event:
        """Set once READY and every GUILD_CREATE went to an identified client."""
        return self.gateway.ready

    # The world the bot lives in

    def add_guild(
        self,
        guild_id: int,
        name: str,
        channels: Iterable[Channel] = (),
        roles: Iterable[Role] = (),
        *,
        locale: str = "en-US",
    ) -> None:
        """A guild the bot is in, announced by GUILD_CREATE when the bot connects.

        `locale` is the server's language (its community setting), sent as `guild_locale`.
        """
        if self.ready.is_set():
            raise AssertionError(
                "add guilds before the bot connects: GUILD_CREATE went out already"
            )
        self._guilds[guild_id] = _Guild(guild_id, name, tuple(roles), locale)
        for channel in channels:
            self.add_channel(replace(channel, guild_id=guild_id))

    def set_guild_locale(self, guild_id: int, locale: str) -> None:
        """A moderator changed the server's language: later interactions carry the new one."""
        self._guilds[guild_id] = replace(self._guilds[guild_id], locale=locale)

    def add_channel(self, channel: Channel) -> None:
        """A guild channel; in a guild the bot is not in, posting answers 403 Missing Access."""
        if channel.guild_id is None:
            raise ValueError("a guild channel needs its guild_id")
        self._channels[channel.id] = channel

    def close_dms(self, user_id: int) -> None:
        """Make messages to this user's DMs fail as Discord does (403, code 50007)."""
        self._closed_dms.add(user_id)

    def dm_channel_id(self, user_id: int) -> int:
        """The id of the bot's DM channel with this user (the same for every caller)."""
        if user_id not in self._dm_channels:
            channel_id = self.snowflakes.next()
            self._dm_channels[user_id] = channel_id
            self._dm_users[channel_id] = user_id
        return self._dm_channels[user_id]

    # Interactions

    async def interact(
        self, payload: JSON, within: float = DEFAULT_TIMEOUT, *, shard: int | None = None
    ) -> Exchange:
        """Dispatch INTERACTION_CREATE (a copy of `payload`, completed as Discord would) to its
        guild's shard, or to `shard`."""
        if not self.ready.is_set():
            try:
                async with asyncio.timeout(within):
                    await self.ready.wait()
            except TimeoutError:
                raise AssertionError(f"no bot identified on the gateway in {within:g} s") from None
        payload = json.loads(json.dumps(payload))  # a copy, and proof that it is JSON
        payload |= {
            "id": str(self.snowflakes.next()),
            "application_id": str(self.application_id),
            "token": secrets.token_urlsafe(48),
        }
        self._complete(payload)
        loop = asyncio.get_running_loop()
        exchange = Exchange(
            payload, dispatched_at=loop.time(), deadline=self.ack_deadline, store=self.store
        )
        self._exchanges[exchange.token] = exchange
        exchange.shard, exchange.written = await self.gateway.dispatch(
            "INTERACTION_CREATE", payload, shard=shard
        )
        return exchange

    async def redeliver(self, exchange: Exchange) -> None:
        """Deliver an interaction once more, to every session: during a rolling restart Discord
        may send one INTERACTION_CREATE to an old and a new session."""
        await self.gateway.dispatch_to_every_session("INTERACTION_CREATE", exchange.payload)

    def exchange(self, token: str) -> Exchange | None:
        """The interaction that was given this token."""
        return self._exchanges.get(token)

    def _complete(self, payload: JSON) -> None:
        """Fill in what Discord knows and a test's payload leaves out."""
        actor = payload["member"]["user"] if "member" in payload else payload["user"]
        resolved_users = payload["data"].get("resolved", {}).get("users", {})
        for user in [actor, *resolved_users.values()]:
            self._users[int(user["id"])] = user
        channel = payload["channel"]
        if payload.get("context") == 2:  # a group DM or others' DM: the bot is not in it
            self._private_channels.add(int(channel["id"]))
        if "guild_id" not in payload and "id" not in channel:
            channel["id"] = payload["channel_id"] = str(self.dm_channel_id(int(actor["id"])))
        if "guild_id" in payload and int(channel["id"]) not in self._channels:
            guild_id, channel_id = int(payload["guild_id"]), int(channel["id"])
            self.add_channel(
                Channel(channel_id, channel.get("name", ""), guild_id, channel["type"])
            )
        guild = self._guilds.get(int(payload["guild_id"])) if "guild_id" in payload else None
        if guild is not None:
            payload["guild_locale"] = payload["guild"]["locale"] = guild.locale
            here = self._channels[int(channel["id"])]
            payload["app_permissions"] = str(here.bot_permissions())  # the bot's, in this channel
        if payload["type"] in (2, 4):
            self.commands.complete(payload)
        if "message" in payload:
            payload["message"] = self._component_message(payload)

    def _component_message(self, payload: JSON) -> JSON:
        """The message a component sits on: the bot's own if the fake knows it, else a stub."""
        message_id = int(payload["message"]["id"])
        message = self.store.get(message_id)
        if message is None:
            message = SentMessage(message_id, int(payload["channel_id"]), "", [], [], 0, None)
            self.store.put(message)
        return self._rest.message_json(message)

    # Messages

    def message(self, message_id: int) -> SentMessage | None:
        """Any message the bot sent, as it is now."""
        return self.store.get(message_id)

    def channel_messages(self, channel_id: int) -> list[SentMessage]:
        """Messages posted with `POST /channels/{id}/messages` (not interaction responses)."""
        return self.store.posted(channel_id)

    def dm_messages(self, user_id: int) -> list[SentMessage]:
        return self.channel_messages(self.dm_channel_id(user_id))

    async def wait_for_channel_message(
        self,
        channel_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        within: float = DEFAULT_TIMEOUT,
    ) -> SentMessage:
        """The first message posted in the channel (already or later) that matches, as it is now."""

        def matching(message: SentMessage) -> SentMessage | None:
            visible = message.channel_id == channel_id and not message.deleted
            return message if visible and (predicate is None or predicate(message)) else None

        def probe() -> SentMessage | None:
            return next(filter(None, map(matching, self.store.posted(channel_id))), None)

        def what() -> str:
            posted = [m.content[:60] for m in self.store.posted(channel_id)]
            return f"no matching message in channel {channel_id}; posted there: {posted}"

        watch = self.store.channel_watch(channel_id)
        return await watch.until(probe, what, within, check=matching)

    # Commands

    def synced_commands(self, guild_id: int | None = None) -> list[JSON]:
        """The commands as Discord stored them (with ids), for a guild or global (None)."""
        return self.commands.synced(guild_id)

    def offered_commands(
        self, context: int, owners: Iterable[str], guild_id: int | None = None
    ) -> list[str]:
        """The top-level commands Discord lists to a member in an interaction context (0 a
        server, 1 the app's DM, 2 a group DM) for the installs in `owners` ("0" the server's,
        "1" the member's own)."""
        return self.commands.offered_names(context, set(owners), guild_id)

    def sync_count(self, guild_id: int | None = None) -> int:
        return self.commands.sync_count(guild_id)

    async def wait_for_sync(
        self, guild_id: int | None = None, count: int = 1, within: float = DEFAULT_TIMEOUT
    ) -> list[JSON]:
        """Wait until the bot synced this scope `count` times; return what it synced."""
        return await self.commands.wait_for_sync(guild_id, count, within)

    # Answers for the REST routes

    def bot_is_in(self, guild_id: int | None) -> bool:
        return guild_id in self._guilds

    def guild_of(self, channel_id: int) -> int | None:
        channel = self._channels.get(channel_id)
        return None if channel is None else channel.guild_id

    def check_can_post(self, channel_id: int, *, embeds: bool) -> None:
        """Refuse a channel message as Discord would: unknown channel, no access, DMs closed, a
        permission the bot lacks there."""
        if channel_id in self._dm_users:
            if self._dm_users[channel_id] in self._closed_dms:
                raise Refusal(403, 50007, "Cannot send messages to this user")
            return
        if channel_id in self._private_channels:
            raise Refusal(403, 50001, "Missing Access")
        channel = self._channels.get(channel_id)
        if channel is None:
            raise Refusal(404, 10003, "Unknown Channel")
        if not self.bot_is_in(channel.guild_id):
            raise Refusal(403, 50001, "Missing Access")
        if channel.type in WITHOUT_MESSAGES:
            raise Refusal(400, 50008, "Cannot send messages in a non-text channel")
        permissions = channel.bot_permissions()
        if not permissions & VIEW_CHANNEL:
            raise Refusal(403, 50001, "Missing Access")
        if not permissions & SEND_MESSAGES or (embeds and not permissions & EMBED_LINKS):
            raise Refusal(403, 50013, "Missing Permissions")

    def dm_channel_json(self, user_id: int) -> JSON:
        user = self._users.get(user_id) or User(user_id, f"user{user_id}").to_json()
        channel_id = self.dm_channel_id(user_id)
        return {
            "id": str(channel_id),
            "type": 1,
            "last_message_id": None,
            "flags": 0,
            "recipients": [user],
        }

    # Gateway payloads

    def _ready(self, session_id: str, shard: Shard) -> JSON:
        return {
            "v": 10,
            "user": self.bot.to_json() | {"verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [
                {"id": str(guild_id), "unavailable": True}
                for guild_id in self._guilds
                if shard_of(guild_id, shard[1]) == shard[0]
            ],
            "shard": list(shard),
            "session_id": session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
            "_trace": ["fake-gateway"],
        }

    def _guild_creates(self, shard: Shard) -> list[JSON]:
        channels: dict[int, list[JSON]] = {}
        for channel in self._channels.values():
            channels.setdefault(channel.guild_id or 0, []).append(channel.to_json(self.bot.id))
        return [
            self._guild_create(guild, channels.get(guild.id, []))
            for guild in self._guilds.values()
            if shard_of(guild.id, shard[1]) == shard[0]
        ]

    def _guild_create(self, guild: _Guild, channels: list[JSON]) -> JSON:
        everyone = Role(guild.id, "@everyone", permissions=MEMBER_PERMISSIONS, position=0)
        me = {
            "user": self.bot.to_json(),
            "roles": [],
            "joined_at": JOINED_AT,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
        }
        return {
            "id": str(guild.id),
            "name": guild.name,
            "unavailable": False,
            "large": False,
            "member_count": 1,
            "joined_at": JOINED_AT,
            "owner_id": "1",
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "features": [],
            "preferred_locale": guild.locale,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "roles": [everyone.to_json(), *(role.to_json() for role in guild.roles)],
            "channels": channels,
            "members": [me],
            "threads": [],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }
