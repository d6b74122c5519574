"""The whole bot end to end: the real bot in the fake Discord, playing against the sandbox.

A test speaks as a member (`world.run(slash(...))`) and looks at what the member saw, what the
tracker received and what the database holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bot import CtVoteBot, assemble
from settings import Settings
from storage.database import Database
from tests.fake_discord import (
    MANAGE_GUILD,
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
from tracker.sandbox import DemoSetup, SandboxTracker

GUILD_ID = 810_000_000_000_000_001
GENERAL = Channel(810_000_000_000_000_010, "general", GUILD_ID)
VOTING = Channel(810_000_000_000_000_011, "voting", GUILD_ID)
VOTER_ROLE = Role(810_000_000_000_000_020, "voters")
MODERATOR = Member(820_000_000_000_000_001, "moderator", permissions=MANAGE_GUILD)
ALICE = Member(820_000_000_000_000_002, "alice")
BOB = Member(820_000_000_000_000_003, "bob")
OWNER = Member(820_000_000_000_000_004, "owner")
DOM = Member(820_000_000_000_000_005, "dom")


class BotWorld:
    """One guild, one tracker sandbox, one database file, and the bot connected to all three."""

    def __init__(self, fake: FakeDiscord, sandbox: SandboxTracker, data_dir: Path) -> None:
        self.fake = fake
        self.sandbox = sandbox
        self.demo: DemoSetup = sandbox.demo()
        self.settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            discord_token=fake.token,
            tracker_api_url=sandbox.base_url,
            database_path=data_dir / "bot.sqlite3",
            token_key=Fernet.generate_key().decode(),
            dev_guild_id=GUILD_ID,
            tracker_read_timeout=5,
            discord_api_url=fake.api_base,
            discord_gateway_url=fake.gateway_url,
            card_refresh_seconds=0.05,
            reminder_check_seconds=0.05,
        )
        self._bot: CtVoteBot | None = None
        self._stack: AsyncExitStack | None = None

    @property
    def bot(self) -> CtVoteBot:
        assert self._bot is not None, "the bot is not running"
        return self._bot

    @property
    def db(self) -> Database:
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

    async def connect(self, member: Member, api_token: str, default_session: str = "") -> None:
        reply = await self.submit_connect(member, api_token, default_session)
        assert reply.ephemeral, reply
        assert "Connected" in reply.content, reply.content


def public_messages(exchange: Exchange) -> list[SentMessage]:
    return [message for message in exchange.messages if not message.ephemeral]


@asynccontextmanager
async def bot_world(data_dir: Path) -> AsyncIterator[BotWorld]:
    sandbox = SandboxTracker(seed=11)
    async with FakeDiscord() as fake:
        await sandbox.start()
        fake.add_guild(GUILD_ID, "Test server", channels=[GENERAL, VOTING], roles=[VOTER_ROLE])
        world = BotWorld(fake, sandbox, data_dir)
        try:
            await world.start()
            yield world
        finally:
            await world.stop()
            await sandbox.stop()
