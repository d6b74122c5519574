"""Composition root: settings, logging, tracker client and database, then the Discord bot."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl
from discord.ext import commands

from discord_layer.cards import CardBoard, CardStatsButton, CardVoteButton
from discord_layer.charts import ChartRenderer
from discord_layer.command_sync import sync_commands
from discord_layer.gateway import close_and_read_to_the_end
from discord_layer.handlers import handlers_finished
from discord_layer.identify import IdentifyTurns
from discord_layer.modlog import ModLog
from discord_layer.replies import actor_from
from discord_layer.stats_flow import StatsFlow
from discord_layer.texts import Texts
from discord_layer.tree import BotTree
from discord_layer.vote_flow import VoteFlow
from i18n.catalogue import Catalogue
from ops.health import OpsServer, connected_shards, gateway_latency
from ops.logs import JsonFormatter
from ops.metrics import Metrics
from ops.shutdown import stop_on_signals
from services.clock import Clock, utc_now
from services.container import Services
from settings import Settings, SettingsError, load_settings
from storage.backends import connect_storage, token_key
from storage.errors import StorageError
from storage.interface import Storage
from storage.private_files import refuse_if_open_to_others
from tracker.client import TrackerClient
from tracker.http import create_http_client

log = logging.getLogger("ctvote")

# After the grace, members of calls still under way are told "may or may not have counted";
# delivering that may take this long before the bot closes.
GIVE_UP_REPLY_SECONDS = 3.0
# At a stop, interactions still being handled after the grace (answers "restarting" to those
# that arrived during it, a give-up reply) get at least this long before the session closes.
LAST_ANSWERS_SECONDS = 1.0
# At a stop, Discord's reply to the gateway's close frame is awaited this long, and the
# interactions that arrived before it get this long more to be answered.
GATEWAY_CLOSE_SECONDS = 0.5
# At a stop, outcomes the database has not taken yet get this long before it closes.
LAST_OUTCOMES_SECONDS = 1.0
# A pending row older than the longest tracker call plus this, with no outcome on its way,
# becomes unknown; looked for this often.
STALE_MARGIN_SECONDS = 30.0
STALE_CHECK_SECONDS = 10.0
ENV_FILE = Path(".env")  # read by the settings, from the folder the bot starts in
EXTENSIONS = (
    "cogs.voting",
    "cogs.games",
    "cogs.accounts",
    "cogs.links",
    "cogs.reminders",
    "cogs.help",
    "cogs.stats",
    "cogs.retention",
    "cogs.proposals",
)
YOUNG_COLLECTION_EVERY = 10_000  # allocations; see run_event_loop
# Loggers that print secrets below INFO: interaction payloads, HTTP/2 headers, SQL parameters.
CHATTY_LIBRARIES = ("discord", "httpcore", "hpack", "h2", "aiosqlite", "asyncio")


class CtVoteBot(commands.Bot):
    def __init__(
        self,
        services: Services,
        db: Storage,
        settings: Settings,
        metrics: Metrics,
        texts: Texts,
        **shards: Any,
    ) -> None:
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # no voice here
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=BotTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **shards,
        )
        self.services = services
        self.db = db
        self.texts = texts
        self.dev_guild_id = settings.dev_guild_id
        self.reminder_check_seconds = settings.reminder_check_seconds
        self.proposal_check_seconds = settings.proposal_check_seconds
        self.cards = CardBoard(
            self, services.cards, services.locales, texts, settings.card_refresh_seconds
        )
        self.modlog = ModLog(self, services.links, services.locales, services.error_digest, texts)
        self.votes = VoteFlow(services.voting, services.locales, self.cards.refresh, self.modlog)
        self.charts = ChartRenderer(
            settings.database_path.parent / "matplotlib", settings.chart_deadline_seconds
        )
        self.stats = StatsFlow(services.history, services.charts, self.charts)
        self.identify_turns = IdentifyTurns(db, settings.discord_identify_window_seconds)
        self.commands_synced = asyncio.Event()
        self.stopping = False
        self.gateway_closed = False
        self.disconnected = asyncio.Event()
        self.stopped = asyncio.Event()
        self.ops_server: OpsServer | None = None
        self.metrics = metrics
        self.metrics.watch(
            calls_under_way=lambda: services.calls.calls_under_way,
            gateway_latency=lambda: gateway_latency(self),
            shards_connected=lambda: connected_shards(self),
        )

    async def setup_hook(self) -> None:
        await self.identify_turns.learn_limits(self.http)
        await self.tree.set_translator(self.texts)
        self.add_dynamic_items(CardVoteButton, CardStatsButton)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands_if_changed()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Every interaction shows the server's and the member's language: keep them current."""
        await self.services.locales.seen(actor_from(interaction))

    async def on_disconnect(self) -> None:
        self.disconnected.set()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Take a turn shared with every process on the database, so processes that start
        together are not refused; without the database, discord.py's own pacing."""
        try:
            await self.identify_turns.wait_for_turn(shard_id)
        except StorageError as error:
            log.warning(
                "no turn to IDENTIFY from the database (%s); pacing as discord.py does", error
            )
            await super().before_identify_hook(shard_id, initial=initial)

    async def close(self) -> None:
        self.identify_turns.close()
        await self.cards.close()
        self.charts.close()
        await super().close()

    def is_closed(self) -> bool:
        """Closed for discord.py's reconnecting too once a stop closed the gateway itself."""
        return self.gateway_closed or super().is_closed()

    async def connect(self, *, reconnect: bool = True) -> None:
        await super().connect(reconnect=reconnect)
        if self.gateway_closed:  # the stop answers what it received before anything closes
            await self.stopped.wait()

    def gateway_sockets(self) -> list[discord.gateway.DiscordWebSocket]:
        return [] if self.ws is None else [self.ws]

    async def stop_gracefully(self, grace: float) -> None:
        """Refuse new interactions, let game calls already sent settle for up to `grace` seconds
        and every interaction already received be answered, then close the gateway, answer what
        it still brought, and close. What is left of the game calls becomes unknown."""
        if self.stopping:
            return
        self.stopping = True
        try:
            await self._stop(grace)
        finally:
            self.stopped.set()

    async def _stop(self, grace: float) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + grace
        left = await self.services.calls.drain(grace)
        if left:
            log.warning(
                "%d game calls did not settle within %g s; they become unknown", left, grace
            )
            await self.services.calls.give_up(GIVE_UP_REPLY_SECONDS)
        await handlers_finished(max(until - loop.time(), LAST_ANSWERS_SECONDS))
        self.gateway_closed = True
        if await close_and_read_to_the_end(
            self.gateway_sockets(), self.disconnected, GATEWAY_CLOSE_SECONDS
        ):
            log.warning("Discord did not confirm the gateway's close; closing anyway")
        unanswered = await handlers_finished(GATEWAY_CLOSE_SECONDS)
        if unanswered:
            log.warning("%d interactions were still being handled at the stop", unanswered)
        await self.close()

    async def sync_commands_if_changed(self) -> bool:
        if self.application_id is None:  # login sets it before setup_hook
            raise discord.app_commands.MissingApplicationID
        synced = await sync_commands(self.tree, self.db, self.application_id, self.dev_guild_id)
        self.texts.learn_commands(synced.ids)
        self.commands_synced.set()
        return synced.changed


class ShardedCtVoteBot(CtVoteBot, commands.AutoShardedBot):
    """The same bot on shards SHARD_IDS of SHARD_COUNT (all of them without SHARD_IDS).

    Discord sends each guild's events to one shard, so processes running different shards share
    the work; what they must agree on, the shared database decides.
    """

    def gateway_sockets(self) -> list[discord.gateway.DiscordWebSocket]:
        # discord.py keeps each shard's connection on its ShardInfo's private Shard.
        return [info._parent.ws for info in self.shards.values()]


def new_bot(
    services: Services, db: Storage, settings: Settings, metrics: Metrics, texts: Texts
) -> CtVoteBot:
    """One connection as before, or the shards the settings name."""
    if settings.shard_count is None:
        return CtVoteBot(services, db, settings, metrics, texts)
    shard_ids = list(settings.shard_ids) if settings.shard_ids is not None else None
    return ShardedCtVoteBot(
        services,
        db,
        settings,
        metrics,
        texts,
        shard_count=settings.shard_count,
        shard_ids=shard_ids,
    )


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.log_level_number, handlers=[handler])
    floor = max(settings.log_level_number, logging.INFO)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(floor)
    logging.getLogger("httpx").setLevel(max(settings.log_level_number, logging.WARNING))


def point_discord_at(api_url: str, gateway_url: str) -> None:
    """Send discord.py to another Discord (tests and local benchmarks).

    REST and webhooks share `Route.BASE`; a client that is not sharded opens `DEFAULT_GATEWAY`
    without asking the API for it.
    """
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


@asynccontextmanager
async def assemble(settings: Settings, *, clock: Clock = utc_now) -> AsyncIterator[CtVoteBot]:
    """Open the database and the tracker client, hand them to a new bot, close all in reverse."""
    if settings.discord_api_url is not None and settings.discord_gateway_url is not None:
        point_discord_at(str(settings.discord_api_url), str(settings.discord_gateway_url))
    key = token_key(
        settings.token_key, settings.database_url, settings.key_file, settings.database_path
    )
    metrics = Metrics()
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(
            connect_storage(
                settings.database_url,
                settings.database_path,
                key,
                settings.database_timeout_seconds,
            )
        )
        if db.recovered_at_open:
            log.warning(
                "%d game calls were interrupted by a restart; marked as unknown",
                db.recovered_at_open,
            )
        http = await stack.enter_async_context(create_http_client(settings))
        tracker = TrackerClient(http, settings.tracker_base_url)
        services = Services.build(
            db, tracker, clock, slot_wait=settings.call_slot_wait_seconds, observer=metrics
        )
        # Run after the bot closed and before the tracker client and the database close, in
        # this order: calls still waiting become unknown, then outcomes still being written
        # get a last chance.
        stack.push_async_callback(services.calls.outcomes.close, settings.database_timeout_seconds)
        stack.push_async_callback(services.calls.cancel_in_flight)
        stack.enter_context(keep_ledger_settled(services, settings))
        bot = new_bot(services, db, settings, metrics, Texts(Catalogue.load()))
        await stack.enter_async_context(bot)
        if settings.http_port is not None:
            bot.ops_server = OpsServer(bot, metrics)
            await bot.ops_server.start(settings.http_host, settings.http_port)
            stack.push_async_callback(bot.ops_server.stop)
        yield bot


@contextmanager
def keep_ledger_settled(services: Services, settings: Settings) -> Iterator[None]:
    """While the bot runs, settle this process's rows whose outcome was lost: pending longer than
    any call to the tracker can take."""
    longest_call = settings.tracker_connect_timeout + settings.tracker_read_timeout
    age = timedelta(seconds=longest_call + STALE_MARGIN_SECONDS)
    task = asyncio.create_task(
        services.calls.keep_settled(age, STALE_CHECK_SECONDS), name="ledger settling"
    )
    try:
        yield
    finally:
        task.cancel()


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the bot on uvloop where it exists (the same asyncio, less CPU per socket event), with
    the garbage collector set for a server's heap.

    What is loaded by now lives as long as the process: frozen, full collections stop walking it.
    A vote allocates thousands of objects that live across an await or two; collecting the
    youngest generation every 700 allocations (the default) promoted them by the thousand, and
    full collections of the grown heap paused the loop for ~70 ms each. Every 10,000 lets most of
    them die young.
    """
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
    try:
        import uvloop
    except ImportError:  # Windows
        asyncio.run(main)
        return
    uvloop.run(main)


async def serve(settings: Settings) -> None:
    async with assemble(settings) as bot:
        with stop_on_signals(bot, settings.shutdown_grace_seconds):
            await bot.start(settings.discord_token.get_secret_value())


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the ctvote Discord bot.")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="start a local tracker sandbox in this process and play against it",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        refuse_if_open_to_others(ENV_FILE)
        settings = load_settings()
    except StorageError as error:
        sys.stderr.write(f"ctvote: {error}\n")
        return 1
    except SettingsError as error:
        sys.stderr.write(f"ctvote: {error}\n")
        return 2
    configure_logging(settings)
    try:
        run_event_loop(serve_with_sandbox(settings) if args.sandbox else serve(settings))
    except (StorageError, discord.LoginFailure) as error:
        sys.stderr.write(f"ctvote: {error}\n")
        return 1
    except KeyboardInterrupt:
        pass
    return 0


async def serve_with_sandbox(settings: Settings) -> None:
    """Play against an in-process tracker so moderators can try every command safely."""
    from tracker.sandbox import SandboxTracker

    sandbox = SandboxTracker()
    url = await sandbox.start()
    try:
        demo = sandbox.demo()
        sys.stdout.write(
            f"Tracker sandbox running at {url}; its demo accounts are not secrets:\n"
            f"  owner API token: {demo.owner_token}\n"
            f"  dom API token:   {demo.dom_token}\n"
            f"  voter API token: {demo.voter_token}\n"
            f"  session id:      {demo.session_id}\n  link token:      {demo.link_token}\n"
        )
        sys.stdout.flush()
        await serve(settings.model_copy(update={"tracker_api_url": url}))
    finally:
        await sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())
