"""The whole bot end to end: the real bot in the fake Discord, playing against the sandbox.

A test speaks as a member (`world.run(slash(...))`) and looks at what the member saw, what the
tracker received and what the database holds.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bot import CtVoteBot, assemble
from i18n.formats import format_duration
from settings import Settings
from storage.interface import Storage
from storage.models import LedgerEntry
from tests.fake_discord import (
    EMBED_LINKS,
    GUILD_CATEGORY,
    GUILD_FORUM,
    GUILD_MEDIA,
    GUILD_VOICE,
    MODERATOR_PERMISSIONS,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Channel,
    Exchange,
    FakeDiscord,
    Member,
    Role,
    SentMessage,
    modal_submit,
    running_bot,
    slash,
)
from tests.helpers_ledger import Location, recent_calls
from tracker.sandbox import DemoSetup, SandboxTracker

GUILD_ID = 810_000_000_000_000_001
GENERAL = Channel(810_000_000_000_000_010, "general", GUILD_ID)
VOTING = Channel(810_000_000_000_000_011, "voting", GUILD_ID)
# Channels a moderator may name in an option, though the bot should not post there for them.
CATEGORY = Channel(810_000_000_000_000_012, "games", GUILD_ID, GUILD_CATEGORY)
FORUM = Channel(810_000_000_000_000_013, "forum", GUILD_ID, GUILD_FORUM)
MEDIA = Channel(810_000_000_000_000_014, "media", GUILD_ID, GUILD_MEDIA)
# Hidden from members; the bot was let in.
HIDDEN = Channel(
    810_000_000_000_000_015,
    "staff",
    GUILD_ID,
    denied=VIEW_CHANNEL | SEND_MESSAGES,
    bot_allowed=VIEW_CHANNEL | SEND_MESSAGES,
)
READ_ONLY = Channel(810_000_000_000_000_016, "rules", GUILD_ID, denied=SEND_MESSAGES)
VOICE = Channel(810_000_000_000_000_017, "lounge", GUILD_ID, GUILD_VOICE)
# Channels members use, where an overwrite takes one permission from the bot.
BOT_UNSEEN = Channel(810_000_000_000_000_018, "quiet", GUILD_ID, bot_denied=VIEW_CHANNEL)
BOT_MUTED = Channel(810_000_000_000_000_019, "chat", GUILD_ID, bot_denied=SEND_MESSAGES)
BOT_NO_EMBEDS = Channel(810_000_000_000_000_021, "plain", GUILD_ID, bot_denied=EMBED_LINKS)
CHANNELS = (
    GENERAL,
    VOTING,
    CATEGORY,
    FORUM,
    MEDIA,
    HIDDEN,
    READ_ONLY,
    VOICE,
    BOT_UNSEEN,
    BOT_MUTED,
    BOT_NO_EMBEDS,
)
VOTER_ROLE = Role(810_000_000_000_000_020, "voters")
MODERATOR = Member(820_000_000_000_000_001, "moderator", permissions=MODERATOR_PERMISSIONS)
ALICE = Member(820_000_000_000_000_002, "alice")
BOB = Member(820_000_000_000_000_003, "bob")
OWNER = Member(820_000_000_000_000_004, "owner")
DOM = Member(820_000_000_000_000_005, "dom")

ROOT = Path(__file__).resolve().parents[1]
BOT_SCRIPT = ROOT / "bot.py"
SETTING_VARIABLES = {name.upper() for name in Settings.model_fields}
# The fake starts a session per second, not per 5 s as Discord: a restart waits for its turn to
# IDENTIFY as it would on Discord, only shorter. Tests of the turns use Discord's window.
IDENTIFY_WINDOW = 1.0


class BotWorld:
    """One guild, one tracker sandbox, one database file, and the bot connected to all three."""

    def __init__(
        self,
        fake: FakeDiscord,
        sandbox: SandboxTracker,
        data_dir: Path,
        database_url: str | None = None,
    ) -> None:
        self.fake = fake
        self.sandbox = sandbox
        self.demo: DemoSetup = sandbox.demo()
        fake.gateway.identify_window = IDENTIFY_WINDOW
        self.settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            discord_token=fake.token,
            tracker_api_url=sandbox.base_url,
            database_path=data_dir / "bot.sqlite3",
            database_url=database_url,
            token_key=Fernet.generate_key().decode(),
            dev_guild_id=GUILD_ID,
            tracker_read_timeout=5,
            discord_api_url=fake.api_base,
            discord_gateway_url=fake.gateway_url,
            discord_identify_window_seconds=IDENTIFY_WINDOW,
            card_refresh_seconds=0.05,
            reminder_check_seconds=0.05,
            proposal_check_seconds=0.5,
        )
        self._bot: CtVoteBot | None = None
        self._stack: AsyncExitStack | None = None

    @property
    def bot(self) -> CtVoteBot:
        assert self._bot is not None, "the bot is not running"
        return self._bot

    @property
    def db(self) -> Storage:
        return self.bot.db

    async def start(self, **setting_overrides: Any) -> None:
        if setting_overrides:
            self.settings = self.settings.model_copy(update=setting_overrides)
        stack = AsyncExitStack()
        try:
            bot = await stack.enter_async_context(assemble(self.settings, clock=self.sandbox.now))
            await stack.enter_async_context(running_bot(self.fake, bot))
            await bot.commands_synced.wait()
        except BaseException:
            await stack.aclose()
            raise
        self._bot, self._stack = bot, stack

    async def stop(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._bot = self._stack, None, None
            self.fake.ready.clear()
            await stack.aclose()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def run(self, payload: dict[str, Any]) -> Exchange:
        return await self.fake.interact(payload)

    async def command(
        self, *names: str, member: Member, channel: Channel = GENERAL, **options: Any
    ) -> Exchange:
        """Send a slash command as `member`; options with the value None are left out."""
        given = {name: value for name, value in options.items() if value is not None}
        return await self.run(slash(*names, options=given, member=member, channel=channel))

    async def answer(
        self, *names: str, member: Member, channel: Channel = GENERAL, **options: Any
    ) -> SentMessage:
        """What the member finally sees for a command: the filled deferral or the direct reply."""
        exchange = await self.command(*names, member=member, channel=channel, **options)
        return await exchange.final()

    async def vote(
        self,
        member: Member,
        kind: str = "add",
        *,
        channel: Channel = GENERAL,
        link: str | None = None,
    ) -> Exchange:
        return await self.command("vote", kind, member=member, channel=channel, link=link)

    def new_link_token(self, **session_options: Any) -> str:
        """The public link token of one more sandbox session, owned by a new tracker user."""
        return self.sandbox.add_session(self.sandbox.add_user(), **session_options).link_token

    @property
    def ledger_location(self) -> Location:
        """Where the bot's ledger is: its SQLite file, or its PostgreSQL database's URL."""
        url = self.settings.database_url
        return self.settings.database_path if url is None else url.get_secret_value()

    async def ledger(self) -> list[LedgerEntry]:
        """The guild's game calls as the bot recorded them, newest first."""
        return recent_calls(self.ledger_location, GUILD_ID)

    async def add_link(self, token: str | None = None, **options: Any) -> SentMessage:
        return await self.answer(
            "links", "add", member=MODERATOR, token=token or self.demo.link_token, **options
        )

    async def submit_connect(
        self, member: Member, api_token: str, default_session: str = ""
    ) -> SentMessage:
        """Open `/account connect` and submit its modal, as the member would."""
        exchange = await self.command("account", "connect", member=member)
        modal = await exchange.modal()
        fields = {"api_token": api_token, "default_session": default_session}
        submitted = await self.run(modal_submit(modal, fields, member=member, channel=GENERAL))
        return await submitted.final()

    def mention(self, name: str, option: str | None = None) -> str:
        """How a text names a command: `</vote add:ID>` with the id Discord gave it at sync."""
        top = name.split(" ", 1)[0]
        (command,) = [c for c in self.fake.synced_commands(GUILD_ID) if c["name"] == top]
        mention = f"</{name}:{command['id']}>"
        return f"{mention} `{option}`" if option else mention

    async def connect(self, member: Member, api_token: str, default_session: str = "") -> None:
        reply = await self.submit_connect(member, api_token, default_session)
        assert reply.ephemeral, reply
        assert "Connected" in reply.content, reply.content


def public_messages(exchange: Exchange) -> list[SentMessage]:
    return [message for message in exchange.messages if not message.ephemeral]


async def public_result(exchange: Exchange) -> SentMessage:
    """The message the whole channel sees for a played game."""
    return await exchange.wait_for_message(lambda message: not message.ephemeral)


async def refusal(exchange: Exchange) -> SentMessage:
    """A refused command: one private line for the member, nothing posted for the channel."""
    answer = await exchange.final()
    assert answer.ephemeral, answer
    assert "\n" not in answer.content, answer.content
    assert public_messages(exchange) == [], exchange.messages
    return answer


def assert_announces_last_game(world: BotWorld, message: SentMessage, player: Member) -> None:
    """The public message shows who played and what the tracker did, pinging only the player."""
    played = world.sandbox.histories[-1]
    end = int(world.sandbox.session(played.session_id).scheduledend.timestamp())
    sign = "+" if played.operation == "ADD" else "\N{MINUS SIGN}"
    facts = (
        f"<@{player.id}>",
        f"**{sign}{format_duration(played.seconds, 'en')}**",
        f"×{played.multiplier:g}",
        f"<t:{end}:F>",
        f"<t:{end}:R>",
    )
    for fact in facts:
        assert fact in message.content, (fact, message.content)
    assert not message.ephemeral
    mentions = message.allowed_mentions or {}
    assert mentions.get("parse") == [], mentions
    assert [int(user) for user in mentions.get("users", [])] == [player.id], mentions


@asynccontextmanager
async def bot_world(data_dir: Path, database_url: str | None = None) -> AsyncIterator[BotWorld]:
    sandbox = SandboxTracker(seed=11)
    async with FakeDiscord() as fake:
        await sandbox.start()
        fake.add_guild(GUILD_ID, "Test server", channels=CHANNELS, roles=[VOTER_ROLE])
        world = BotWorld(fake, sandbox, data_dir, database_url)
        try:
            await world.start()
            yield world
        finally:
            await world.stop()
            await sandbox.stop()


def bot_environment(**settings: str) -> dict[str, str]:
    """An environment for `python bot.py`: none of the caller's bot settings, only `settings`."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_VARIABLES}
    env.pop("PYTHONSTARTUP", None)
    env["PYTHONPATH"] = str(ROOT)
    env.update(settings)
    return env
