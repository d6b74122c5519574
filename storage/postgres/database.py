"""The bot's memory on a PostgreSQL server, shared by every bot process that points at it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, Self

import asyncpg

from storage.errors import (
    CallUnderWay,
    EntryNotPending,
    InteractionSeen,
    LinkNameTaken,
    LinkRemoved,
    StorageError,
    StorageUnavailable,
    VoteAlreadyCounted,
)
from storage.migrate import Migration, check_not_newer, load_migrations
from storage.models import (
    Account,
    ChannelLink,
    DueReminder,
    GuildSettings,
    LedgerEntry,
    LinkCard,
    LinkStats,
    LinkTally,
    NewCall,
    PlayedResult,
    VoteInterval,
)
from storage.postgres import history, votes
from storage.postgres.deadlines import (
    close_connection,
    close_pool,
    connection_options,
    take_voter_lock,
    voter_lock_pauses,
)
from storage.postgres.outcomes import PostgresOutcomeStore
from storage.read_cache import ReadCache
from storage.rows import (
    SECRET_COLUMNS,
    account_from_row,
    card_from_row,
    entry_from_row,
    link_from_row,
    reminder_from_row,
    settings_from_row,
    stats_from_rows,
    tally_from_rows,
)
from storage.sqlite.history import END_POINTS, EXPORT_BATCH, PENALTY_POINTS
from storage.sqlite.sql import DATABASE_UNAVAILABLE, DEFAULT_TIMEOUT_SECONDS
from storage.timestamps import to_db, to_db_or_none, utc_day_number
from storage.token_cipher import KEY_CANARY_META, TokenCipher, check_key

log = logging.getLogger(__name__)

# The first key of the two-key advisory locks this bot takes: (BOOT_LOCKS, boot id) is held by a
# running process for its whole life; (BOOT_LOCKS, 0) serialises migrations.
BOOT_LOCKS = 0x63_74_76  # "ctv"
POOL_SIZE = 10
MIGRATION_SECONDS = 3600.0
# Errors that say the server cannot be used now, as opposed to a mistake in our SQL.
_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # what a connection the server dropped mid-use can raise
    asyncpg.QueryCanceledError,  # statement_timeout
    asyncpg.LockNotAvailableError,  # lock_timeout
)
_PENDING_CONSTRAINTS = ("ledger_one_pending_vote", "ledger_one_pending_game")
# Settles the pending rows of every process life whose lock is free: those lives ended.
_RECOVER_SQL = """
    UPDATE ledger SET status = 'unknown', finished_at = $1, reason = 'interrupted'
    WHERE status = 'pending' AND (boot_id IS NULL OR boot_id NOT IN (
        SELECT objid::bigint FROM pg_locks
        WHERE locktype = 'advisory' AND classid::bigint = $2 AND objsubid = 2 AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    ))
    RETURNING id
"""


@contextmanager
def unavailable_as_storage_error(what: str = DATABASE_UNAVAILABLE) -> Iterator[None]:
    try:
        yield
    except _UNAVAILABLE as error:
        raise StorageUnavailable(f"{what}: {type(error).__name__}: {error}") from error


def postgres_migrations() -> list[Migration]:
    return load_migrations(resources.files("storage.postgres") / "migrations")


class PostgresDatabase(PostgresOutcomeStore):
    """A pool of connections, and one more that holds this process life's lock until it ends.

    Each method is one statement or one transaction, so a process killed between two leaves whole
    rows only. Implements `storage.interface.Storage`.
    """

    recovered_at_open: int

    def __init__(
        self,
        url: str,
        pool: asyncpg.Pool,
        life: asyncpg.Connection,
        boot_id: int,
        cipher: TokenCipher,
        deadline_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._url = url
        self._deadline = deadline_seconds
        self._releasing: set[asyncio.Future[None]] = set()
        self._pool = pool
        self._life = life
        self.boot_id = boot_id
        self._cipher = cipher
        self._closing = False
        self._relocking: asyncio.Task[None] | None = None
        life.add_termination_listener(self._life_lost)
        self._channel_links: ReadCache[tuple[int, int], tuple[ChannelLink, ...]] = ReadCache()
        self._settings: ReadCache[int, GuildSettings] = ReadCache()

    @classmethod
    async def open(
        cls,
        url: str,
        key: bytes,
        *,
        now: datetime | None = None,
        deadline_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> PostgresDatabase:
        """Migrate, prove the key fits, and settle calls that ended processes left pending.

        Connecting and every statement later get `deadline_seconds` seconds
        (DATABASE_TIMEOUT_SECONDS), on the server too; migrations are given longer.
        """
        cipher = TokenCipher(key)
        options = connection_options(deadline_seconds)
        with unavailable_as_storage_error("cannot connect to PostgreSQL"):
            life = await asyncpg.connect(url, **options)
        try:
            boot_id = await _hold_a_life_lock(life)
            with unavailable_as_storage_error("cannot connect to PostgreSQL"):
                pool = await asyncpg.create_pool(url, min_size=1, max_size=POOL_SIZE, **options)
        except BaseException:
            await close_connection(life, deadline_seconds)
            raise
        db = cls(url, pool, life, boot_id, cipher, deadline_seconds)
        try:
            applied = await db._migrate(postgres_migrations())
            await check_key(db, cipher)
            db.recovered_at_open = await db._recover_interrupted(now or datetime.now(UTC))
        except BaseException:
            await db.close()
            raise
        log.info(
            "opened PostgreSQL: %d migrations applied, %d interrupted calls now unknown",
            applied,
            db.recovered_at_open,
        )
        return db

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        url: str,
        key: bytes,
        *,
        now: datetime | None = None,
        deadline_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> AsyncIterator[PostgresDatabase]:
        db = await cls.open(url, key, now=now, deadline_seconds=deadline_seconds)
        try:
            yield db
        finally:
            await db.close()

    async def close(self) -> None:
        """Pending rows written by this life stay pending until a later start settles them."""
        self._closing = True
        if self._relocking is not None:
            self._relocking.cancel()
        await close_pool(self._pool, self._deadline)
        await close_connection(self._life, self._deadline)

    def _life_lost(self, conn: asyncpg.Connection) -> None:
        """The connection holding this life's lock broke (a restart of the server, the network):
        until the lock is taken again, a process starting now would settle this one's calls."""
        if self._closing or conn is not self._life:
            return
        log.error("lost the connection holding this process's lock on PostgreSQL; retaking it")
        self._relocking = asyncio.ensure_future(self._retake_life())

    async def _retake_life(self) -> None:
        delay = 0.1
        while not self._closing:
            try:
                life = await asyncpg.connect(self._url, **connection_options(self._deadline))
                locked = await life.fetchval(
                    "SELECT pg_try_advisory_lock($1, $2)", BOOT_LOCKS, self.boot_id
                )
            except (*_UNAVAILABLE, asyncpg.PostgresError) as error:
                log.warning("cannot retake the process lock yet: %s", type(error).__name__)
            else:
                if locked:
                    self._life = life
                    life.add_termination_listener(self._life_lost)
                    log.warning("the process lock on PostgreSQL is held again")
                    return
                await life.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # Plumbing.

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pool connection for one operation: waiting for it, the statements and handing it
        back all within the deadline. After a query timed out, asyncpg hands the connection back
        only once the server confirmed the cancellation: that goes on in the background."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._deadline
        async with asyncio.timeout_at(deadline):
            conn = await self._pool.acquire()
        try:
            async with asyncio.timeout_at(deadline):
                yield conn
        finally:
            release = asyncio.ensure_future(self._pool.release(conn))
            self._releasing.add(release)
            release.add_done_callback(self._releasing.discard)
            await asyncio.wait({release}, timeout=max(0.0, deadline - loop.time()))

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        with unavailable_as_storage_error():
            async with self._connection() as conn:
                return await conn.fetch(sql, *args)

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        with unavailable_as_storage_error():
            async with self._connection() as conn:
                return await conn.fetchrow(sql, *args)

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        with unavailable_as_storage_error():
            async with self._connection() as conn:
                return await conn.fetchval(sql, *args)

    async def _execute(self, sql: str, *args: Any) -> None:
        with unavailable_as_storage_error():
            async with self._connection() as conn:
                await conn.execute(sql, *args)

    async def _migrate(self, migrations: list[Migration]) -> int:
        with unavailable_as_storage_error():
            async with self._pool.acquire(timeout=self._deadline) as conn:
                return await apply_migrations(conn, migrations)

    async def schema_version(self) -> int:
        return int(await self._fetchval("SELECT max(version) FROM schema_migrations"))

    async def _recover_interrupted(self, now: datetime) -> int:
        """Rows pending of a life that ended (its lock is free) have an unknown outcome.

        A process that is still running holds its lock, so its calls under way are left alone.
        """
        return len(await self._fetch(_RECOVER_SQL, to_db(now), BOOT_LOCKS))

    # Meta.

    async def get_meta(self, key: str) -> str | None:
        return await self._fetchval("SELECT value FROM meta WHERE key = $1", key)

    async def set_meta(self, key: str, value: str) -> None:
        await self._execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            key,
            value,
        )

    async def rotate_token_key(self) -> int:
        """Re-encrypt every stored secret with the newest key, in one transaction; return how
        many. The old ciphertexts' row versions are vacuumed away (see `_vacuum` for the rest).
        """
        count = 0
        with unavailable_as_storage_error():
            async with self._pool.acquire(timeout=self._deadline) as conn, conn.transaction():
                for table, key_column, column in SECRET_COLUMNS:  # names, never input
                    select = f"SELECT {key_column}, {column} FROM {table} FOR UPDATE"  # noqa: S608
                    update = f"UPDATE {table} SET {column} = $1 WHERE {key_column} = $2"  # noqa: S608
                    for row_key, ciphertext in await conn.fetch(select):
                        await conn.execute(update, self._cipher.rotate(bytes(ciphertext)), row_key)
                        count += 1
                canary = await conn.fetchval(
                    "SELECT value FROM meta WHERE key = $1 FOR UPDATE", KEY_CANARY_META
                )
                if canary is not None:
                    await conn.execute(
                        "UPDATE meta SET value = $1 WHERE key = $2",
                        self._cipher.rotate(canary.encode()).decode(),
                        KEY_CANARY_META,
                    )
        for table, _, _ in SECRET_COLUMNS:
            await self._vacuum(table)
        return count

    # Accounts.

    async def save_account(
        self, user_id: int, api_token: str, default_session: int | None, *, now: datetime
    ) -> Account:
        (row,) = await self._fetch(
            """
            INSERT INTO accounts (user_id, api_token, default_session, connected_at)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (user_id) DO UPDATE SET
                api_token = excluded.api_token,
                default_session = excluded.default_session,
                connected_at = excluded.connected_at,
                last_used_at = NULL,
                token_rejected = false
            RETURNING *
            """,
            user_id,
            self._cipher.encrypt(api_token),
            default_session,
            to_db(now),
        )
        await self._vacuum("accounts")
        return account_from_row(row, self._cipher)

    async def get_account(self, user_id: int) -> Account | None:
        row = await self._fetchrow("SELECT * FROM accounts WHERE user_id = $1", user_id)
        return None if row is None else account_from_row(row, self._cipher)

    async def forget_account(self, user_id: int) -> bool:
        """Delete the account, then vacuum the table so its dead row version is cleared."""
        rows = await self._fetch("DELETE FROM accounts WHERE user_id = $1 RETURNING 1", user_id)
        if rows:
            await self._vacuum("accounts")
        return bool(rows)

    async def mark_token_rejected(self, user_id: int) -> None:
        await self._execute("UPDATE accounts SET token_rejected = true WHERE user_id = $1", user_id)

    async def _vacuum(self, table: str) -> None:
        """Remove dead row versions that held ciphertext from the table's pages.

        What VACUUM cannot reach (WAL segments not yet recycled, backups, freed page space it does
        not overwrite) stays encrypted with TOKEN_KEY. A failure is logged: the row is gone.
        """
        try:
            await self._execute(f"VACUUM {table}")
        except (StorageError, asyncpg.PostgresError) as error:
            log.warning(
                "VACUUM %s failed (%s); dead row versions stay until autovacuum", table, error
            )

    # Links and guild settings.

    async def add_link(
        self,
        *,
        guild_id: int,
        channel_id: int,
        name: str,
        link_token: str,
        interval: VoteInterval = VoteInterval.DAILY,
        anonymous_allowed: bool = True,
        added_by: int,
        now: datetime,
        locale: str | None = None,
    ) -> ChannelLink:
        insert = self._fetch(
            """
            INSERT INTO channel_links (guild_id, channel_id, name, link_token, vote_interval,
                                       anonymous_allowed, added_by, added_at, locale)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            RETURNING *
            """,
            guild_id,
            channel_id,
            name,
            self._cipher.encrypt(link_token),
            interval.value,
            anonymous_allowed,
            added_by,
            to_db(now),
            locale,
        )
        try:
            (row,) = await self._channel_links.changed_by(insert)
        except asyncpg.UniqueViolationError:
            raise LinkNameTaken(f"This channel already has a link named “{name}”.") from None
        return link_from_row(row, self._cipher)

    async def remove_link(self, guild_id: int, channel_id: int, name: str) -> ChannelLink | None:
        delete = self._fetchrow(
            """
            DELETE FROM channel_links
            WHERE guild_id = $1 AND channel_id = $2 AND lower(name) = lower($3)
            RETURNING *
            """,
            guild_id,
            channel_id,
            name,
        )
        row = await self._channel_links.changed_by(delete)
        if row is None:
            return None
        await self._vacuum("channel_links")
        return link_from_row(row, self._cipher)

    async def get_link(self, link_id: int) -> ChannelLink | None:
        row = await self._fetchrow("SELECT * FROM channel_links WHERE id = $1", link_id)
        return None if row is None else link_from_row(row, self._cipher)

    async def links_in_channel(self, guild_id: int, channel_id: int) -> list[ChannelLink]:
        key = (guild_id, channel_id)
        return list(await self._channel_links.read(key, lambda: self._load_links(*key)))

    async def _load_links(self, guild_id: int, channel_id: int) -> tuple[ChannelLink, ...]:
        rows = await self._fetch(
            "SELECT * FROM channel_links WHERE guild_id = $1 AND channel_id = $2"
            ' ORDER BY lower(name) COLLATE "C"',
            guild_id,
            channel_id,
        )
        return tuple(link_from_row(row, self._cipher) for row in rows)

    async def links_in_guild(self, guild_id: int) -> list[ChannelLink]:
        rows = await self._fetch(
            "SELECT * FROM channel_links WHERE guild_id = $1"
            ' ORDER BY channel_id, lower(name) COLLATE "C"',
            guild_id,
        )
        return [link_from_row(row, self._cipher) for row in rows]

    async def set_link_session(self, link_id: int, session_id: int) -> None:
        await self._channel_links.changed_by(
            self._execute(
                "UPDATE channel_links SET session_id = $1 WHERE id = $2", session_id, link_id
            )
        )

    async def set_guild_locale(self, guild_id: int, locale: str) -> None:
        """The server's language changed: its links' public messages follow (read first, so an
        unchanged language costs no write)."""
        stale = await self._fetchrow(
            "SELECT 1 FROM channel_links WHERE guild_id = $1 AND locale IS DISTINCT FROM $2"
            " LIMIT 1",
            guild_id,
            locale,
        )
        if stale is not None:
            await self._channel_links.changed_by(
                self._execute(
                    "UPDATE channel_links SET locale = $2"
                    " WHERE guild_id = $1 AND locale IS DISTINCT FROM $2",
                    guild_id,
                    locale,
                )
            )

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        return await self._settings.read(guild_id, lambda: self._load_settings(guild_id))

    async def _load_settings(self, guild_id: int) -> GuildSettings:
        row = await self._fetchrow(
            "SELECT voter_role_id, log_channel_id FROM guild_settings WHERE guild_id = $1",
            guild_id,
        )
        return settings_from_row(guild_id, row)

    async def set_voter_role(self, guild_id: int, role_id: int | None) -> None:
        await self._settings.changed_by(
            self._execute(
                "INSERT INTO guild_settings (guild_id, voter_role_id) VALUES ($1, $2)"
                " ON CONFLICT (guild_id) DO UPDATE SET voter_role_id = excluded.voter_role_id",
                guild_id,
                role_id,
            )
        )

    async def set_log_channel(self, guild_id: int, channel_id: int | None) -> None:
        await self._settings.changed_by(
            self._execute(
                "INSERT INTO guild_settings (guild_id, log_channel_id) VALUES ($1, $2)"
                " ON CONFLICT (guild_id) DO UPDATE SET log_channel_id = excluded.log_channel_id",
                guild_id,
                channel_id,
            )
        )

    # The ledger.

    async def begin_call(
        self, call: NewCall, *, now: datetime, limit_since: datetime | None = None
    ) -> int:
        """Commit a pending row before the call is sent, in one step with its checks.

        A game is one statement. A vote is a transaction that takes the voter's lock first, so of
        two processes checking the same member's vote on the same link, the second waits and its
        statement sees the first one's row; BEGIN and the lock go in one round trip.
        """
        args = (
            call.link_id,
            call.anonymous,
            call.user_id,
            to_db(now),
            call.guild_id,
            call.channel_id,
            call.session_id,
            call.game,
            call.dom,
            call.vote_type,
            call.interaction_id,
            self.boot_id,
            to_db_or_none(limit_since),
            None if call.anonymous else call.voter_name,
        )
        try:
            with unavailable_as_storage_error():
                if limit_since is None:
                    async with self._connection() as conn:
                        entry_id = await conn.fetchval(votes.BEGIN_CALL_SQL[False], *args)
                else:
                    entry_id = await self._begin_vote(call, args)
        except asyncpg.ForeignKeyViolationError:
            raise LinkRemoved("That link has just been removed from this channel.") from None
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name in _PENDING_CONSTRAINTS:
                raise CallUnderWay("a call of this voter is under way") from None
            raise InteractionSeen(f"interaction {call.interaction_id} has a call") from None
        if entry_id is None:
            raise VoteAlreadyCounted("the voter has a counted vote within the limit")
        return int(entry_id)

    async def _begin_vote(self, call: NewCall, args: tuple[Any, ...]) -> int | None:
        """Write the vote's row holding its voter's lock, so the check sees every earlier row.

        A lock held elsewhere is tried again without holding a pool connection meanwhile, so
        votes waiting for one voter cannot crowd out every other command; after the deadline the
        vote is refused as under way.
        """
        lock = _voter_lock(call)  # an int: nothing from outside is interpolated
        pauses = voter_lock_pauses(self._deadline)
        while True:
            async with self._connection() as conn:
                if await take_voter_lock(conn, lock):
                    try:
                        entry_id = await conn.fetchval(votes.BEGIN_CALL_SQL[call.anonymous], *args)
                    except BaseException:
                        with contextlib.suppress(*_UNAVAILABLE, asyncpg.PostgresError):
                            await conn.execute("ROLLBACK")  # else the pool's reset does
                        raise
                    await conn.execute("COMMIT")
                    return entry_id
            pause = next(pauses, None)
            if pause is None:
                raise CallUnderWay("another session holds this voter's lock")
            await asyncio.sleep(pause)

    async def finish_played(self, entry_id: int, result: PlayedResult, *, now: datetime) -> None:
        await self._finish(
            entry_id,
            """
            UPDATE ledger SET status = 'played', finished_at = $2, operation = $3, seconds = $4,
                multiplier = $5, penalty = $6, scheduled_end = $7,
                session_id = coalesce($8, session_id)
            WHERE id = $1 AND status = 'pending'
            RETURNING id
            """,
            to_db(now),
            result.operation,
            result.seconds,
            result.multiplier,
            result.penalty,
            to_db_or_none(result.scheduled_end),
            result.session_id,
        )

    async def finish_refused(
        self, entry_id: int, reason: str, message: str | None, *, now: datetime
    ) -> None:
        await self._finish(
            entry_id,
            """
            UPDATE ledger SET status = 'refused', finished_at = $2, reason = $3, message = $4
            WHERE id = $1 AND status = 'pending'
            RETURNING id
            """,
            to_db(now),
            reason,
            message,
        )

    async def finish_unknown(self, entry_id: int, reason: str, *, now: datetime) -> None:
        await self._finish(
            entry_id,
            """
            UPDATE ledger SET status = 'unknown', finished_at = $2, reason = $3
            WHERE id = $1 AND status = 'pending'
            RETURNING id
            """,
            to_db(now),
            reason,
        )

    async def _finish(self, entry_id: int, sql: str, *args: Any) -> None:
        if await self._fetchval(sql, entry_id, *args) is None:
            raise EntryNotPending(f"Ledger entry {entry_id} does not exist or is already finished.")

    async def last_counted_vote(self, link_id: int, *, user_id: int | None) -> LedgerEntry | None:
        if user_id is None:
            row = await self._fetchrow(votes.LAST_COUNTED_VOTE_SQL[True], link_id)
        else:
            row = await self._fetchrow(votes.LAST_COUNTED_VOTE_SQL[False], link_id, user_id)
        return None if row is None else entry_from_row(row)

    async def latest_votes_of_user(self, user_id: int) -> list[LedgerEntry]:
        return self._entries(await self._fetch(votes.LATEST_VOTES_OF_USER_SQL, user_id))

    async def vote_count(self, user_id: int) -> int:
        return int(await self._fetchval(votes.VOTE_COUNT_SQL, user_id))

    async def link_tally(self, link_id: int, *, day_start: datetime) -> LinkTally:
        """Two lookups by key, however many votes the link has."""
        row = await self._fetchrow(votes.TALLY_SQL, link_id, utc_day_number(day_start))
        if row is None:
            return LinkTally(0, 0, 0, 0, 0, 0, last_vote=None)
        last = await self._fetchrow("SELECT * FROM ledger WHERE id = $1", row["last_played_id"])
        return tally_from_rows(row, last)

    async def had_penalty_on_link(self, user_id: int, link_id: int) -> bool:
        return await self._fetchrow(votes.PENALTY_OF_USER_ON_LINK_SQL, user_id, link_id) is not None

    # History, export and statistics.

    async def calls_on_link(self, link_id: int, limit: int) -> list[LedgerEntry]:
        return self._entries(await self._fetch(history.CALLS_ON_LINK_SQL, link_id, limit))

    async def calls_of_user(self, user_id: int, limit: int) -> list[LedgerEntry]:
        return self._entries(await self._fetch(history.CALLS_OF_USER_SQL, user_id, limit))

    async def calls_on_link_in_order(
        self, link_id: int, batch: int = EXPORT_BATCH
    ) -> AsyncIterator[list[LedgerEntry]]:
        """Every call on the link, oldest first, a batch at a time (keyset pages)."""
        rows = await self._fetch(history.EXPORT_FIRST_SQL, link_id, batch)
        while rows:
            yield self._entries(rows)
            if len(rows) < batch:
                return
            last = rows[-1]
            rows = await self._fetch(
                history.EXPORT_NEXT_SQL, link_id, last["created_at"], last["id"], batch
            )

    async def link_stats(
        self, link_id: int, *, since: datetime, until: datetime, top: int = 5
    ) -> LinkStats:
        start = to_db(since)
        slice_length = max(1, (to_db(until) - start) // END_POINTS + 1)
        days = await self._fetch(history.DAYS_SQL, link_id, utc_day_number(since))
        voters = await self._fetch(history.TOP_VOTERS_SQL, link_id, start, top)
        ends = await self._fetch(history.ENDS_SQL, link_id, start, start, slice_length)
        penalties = await self._fetch(history.PENALTIES_SQL, link_id, start, PENALTY_POINTS)
        last = await self._fetchrow(history.LAST_PLAYED_SQL, link_id)
        return stats_from_rows(days, voters, ends, penalties, last)

    @staticmethod
    def _entries(rows: list[asyncpg.Record]) -> list[LedgerEntry]:
        return [entry_from_row(row) for row in rows]

    # Link cards.

    async def add_card(
        self, link_id: int, channel_id: int, message_id: int, *, now: datetime
    ) -> LinkCard:
        await self._execute(
            "INSERT INTO link_cards (message_id, link_id, channel_id, posted_at)"
            " VALUES ($1, $2, $3, $4)",
            message_id,
            link_id,
            channel_id,
            to_db(now),
        )
        return LinkCard(
            message_id=message_id, link_id=link_id, channel_id=channel_id, posted_at=now
        )

    async def cards_of_link(self, link_id: int) -> list[LinkCard]:
        rows = await self._fetch(
            "SELECT * FROM link_cards WHERE link_id = $1 ORDER BY posted_at", link_id
        )
        return [card_from_row(row) for row in rows]

    async def forget_card(self, message_id: int) -> None:
        await self._execute("DELETE FROM link_cards WHERE message_id = $1", message_id)

    async def claim_card_refresh(self, link_id: int, *, now: datetime, until: datetime) -> bool:
        """True for the one process that edits the link's cards in this window."""
        row = await self._fetchrow(
            """
            INSERT INTO card_refresh_claims (link_id, claimed_until)
            SELECT $1, $3 WHERE EXISTS (SELECT 1 FROM channel_links WHERE id = $1)
            ON CONFLICT (link_id) DO UPDATE SET claimed_until = excluded.claimed_until
                WHERE card_refresh_claims.claimed_until <= $2
            RETURNING 1
            """,
            link_id,
            to_db(now),
            to_db(until),
        )
        return row is not None

    # Reminders.

    async def subscribe_reminders(
        self, user_id: int, *, now: datetime, locale: str | None = None
    ) -> bool:
        row = await self._fetchrow(
            "INSERT INTO reminder_subscribers (user_id, since, locale) VALUES ($1, $2, $3)"
            " ON CONFLICT (user_id) DO NOTHING RETURNING user_id",
            user_id,
            to_db(now),
            locale,
        )
        if row is None and locale is not None:
            await self.set_member_locale(user_id, locale)
        return row is not None

    async def set_member_locale(self, user_id: int, locale: str) -> None:
        await self._execute(
            "UPDATE reminder_subscribers SET locale = $2"
            " WHERE user_id = $1 AND locale IS DISTINCT FROM $2",
            user_id,
            locale,
        )

    async def unsubscribe_reminders(self, user_id: int) -> bool:
        row = await self._fetchrow(
            "DELETE FROM reminder_subscribers WHERE user_id = $1 RETURNING user_id", user_id
        )
        return row is not None

    async def is_subscribed(self, user_id: int) -> bool:
        row = await self._fetchrow("SELECT 1 FROM reminder_subscribers WHERE user_id = $1", user_id)
        return row is not None

    async def due_reminders(
        self, *, now: datetime, window: timedelta, limit: int = 100
    ) -> list[DueReminder]:
        rows = await self._fetch(
            votes.DUE_REMINDERS_SQL,
            to_db(now - window),
            window // timedelta(microseconds=1),
            limit,
        )
        return [reminder_from_row(row, window) for row in rows]

    async def claim_reminder(self, ledger_id: int, *, now: datetime) -> bool:
        """True for the one process that sends this reminder; recorded as not delivered yet."""
        row = await self._fetchrow(
            "INSERT INTO reminders_sent (ledger_id, sent_at, delivered) VALUES ($1, $2, false)"
            " ON CONFLICT (ledger_id) DO NOTHING RETURNING 1",
            ledger_id,
            to_db(now),
        )
        return row is not None

    async def mark_reminded(self, ledger_id: int, *, delivered: bool, now: datetime) -> None:
        await self._execute(
            "INSERT INTO reminders_sent (ledger_id, sent_at, delivered) VALUES ($1, $2, $3)"
            " ON CONFLICT (ledger_id) DO UPDATE SET delivered = excluded.delivered",
            ledger_id,
            to_db(now),
            delivered,
        )


async def apply_migrations(conn: asyncpg.Connection, migrations: list[Migration]) -> int:
    """Apply what is missing, each file in one transaction; concurrent starts take turns.

    A migration may take long on a big ledger: it is not held to the bot's statement deadline.
    """
    async with conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0")
        await conn.execute(
            "SELECT pg_advisory_xact_lock($1, 0)", BOOT_LOCKS, timeout=MIGRATION_SECONDS
        )
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)"
        )
        current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
        check_not_newer(current, migrations)
        missing = [m for m in migrations if m.version > current]
        for migration in missing:
            log.info("applying migration %s", migration.name)
            async with conn.transaction():
                await conn.execute(migration.sql, timeout=MIGRATION_SECONDS)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    to_db(datetime.now(UTC)),
                )
    return len(missing)


def _voter_lock(call: NewCall) -> int:
    """The advisory lock of a link's voter (one for all its anonymous votes); a collision only
    makes two voters take turns."""
    voter = 0 if call.anonymous else call.user_id
    return ((call.link_id or 0) << 32 ^ voter) & 0x7FFF_FFFF_FFFF_FFFF


async def _hold_a_life_lock(conn: asyncpg.Connection) -> int:
    """Take a fresh (BOOT_LOCKS, id) lock on `conn` for this process's life; return the id."""
    with unavailable_as_storage_error():
        for _ in range(8):
            boot_id = secrets.randbelow(2**31 - 1) + 1
            if await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", BOOT_LOCKS, boot_id):
                return boot_id
    raise StorageError("could not take a process lock on PostgreSQL")
