"""History, export batches, statistics and the incremental tallies, on both backends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import aiosqlite
import asyncpg
from pydantic import SecretStr

from storage.history_sizes import END_POINTS
from storage.interface import Storage
from storage.migrate import Migration
from storage.models import ChannelLink, NewLink
from storage.postgres import database as postgres
from storage.sqlite import database as sqlite
from tests.conftest import OpenStorage
from tests.helpers_storage import CHANNEL, GUILD, NOW, USER, played, vote

DAY = timedelta(days=1)


async def add_link(db: Storage, name: str = "link") -> ChannelLink:
    return await db.add_link(
        NewLink(
            guild_id=GUILD, channel_id=CHANNEL, name=name, link_token=SecretStr("t"), added_by=1
        ),
        now=NOW - 90 * DAY,
    )


async def test_a_link_and_a_member_list_their_calls_newest_first(db: Storage) -> None:
    link, other = await add_link(db), await add_link(db, "other")
    first = await played(db, link, NOW - DAY)
    second = await played(db, other, NOW, user_id=USER + 1)
    third = await played(db, link, NOW + timedelta(minutes=1), anonymous=True)
    dice = await db.begin_call(vote(None, game="dice"), now=NOW + timedelta(minutes=2))

    assert [e.id for e in await db.calls_on_link(link.id, 10)] == [third, first]
    assert [e.id for e in await db.calls_on_link(link.id, 1)] == [third]
    assert [e.id for e in await db.calls_of_user(USER, 10)] == [dice, third, first]
    assert [e.id for e in await db.calls_of_user(USER + 1, 10)] == [second]


async def test_voter_names_are_kept_for_identified_votes_only(db: Storage) -> None:
    link = await add_link(db)
    await played(db, link, NOW)
    await played(db, link, NOW + timedelta(minutes=1), user_id=USER + 1, anonymous=True)

    anonymous, identified = await db.calls_on_link(link.id, 10)

    assert identified.voter_name == f"n{USER}"
    assert anonymous.voter_name is None


async def test_the_export_reads_every_call_oldest_first_in_batches(db: Storage) -> None:
    link = await add_link(db)
    at_once = NOW  # equal times: the id decides
    ids = [await played(db, link, at_once, user_id=USER + n) for n in range(5)]
    ids.append(await played(db, link, NOW - DAY))

    batches = [batch async for batch in db.calls_on_link_in_order(link.id, batch=2)]

    assert [len(batch) for batch in batches] == [2, 2, 2]
    assert [e.id for batch in batches for e in batch] == [ids[-1], *ids[:-1]]


async def test_the_tally_follows_votes_as_they_settle_even_out_of_order(db: Storage) -> None:
    link = await add_link(db)
    later = await played(db, link, NOW + timedelta(minutes=5))
    await played(db, link, NOW, anonymous=True, settled_at=NOW + timedelta(minutes=6))

    tally = await db.link_tally(link.id, day_start=NOW.replace(hour=0))

    assert tally.last_vote is not None
    assert tally.last_vote.id == later  # the last vote cast, not the last one to settle
    assert (tally.identified, tally.anonymous) == (1, 1)


async def test_stats_count_days_rank_voters_and_keep_the_chart_small(db: Storage) -> None:
    link = await add_link(db)
    await played(db, link, NOW - 40 * DAY, seconds=999)  # before the period
    for minute in range(END_POINTS * 2):
        await played(
            db, link, NOW - DAY + timedelta(minutes=minute), user_id=USER + minute % 3, seconds=60
        )
    await played(db, link, NOW, operation="SUB", seconds=30, user_id=USER + 9, penalty=True)
    await played(db, link, NOW, anonymous=True, seconds=15)

    stats = await db.link_stats(link.id, since=NOW - 29 * DAY, until=NOW + timedelta(hours=1))

    assert sum(day.identified for day in stats.days) == END_POINTS * 2 + 1
    assert sum(day.anonymous for day in stats.days) == 1
    assert sum(day.seconds_removed for day in stats.days) == 30
    assert sum(day.subs for day in stats.days) == 1
    assert [(v.user_id, v.votes) for v in stats.top_voters[:3]] == [
        (USER, 267),
        (USER + 1, 267),
        (USER + 2, 266),
    ]
    assert len(stats.top_voters) == 4
    assert stats.top_voters[-1].net_seconds == -30
    assert 0 < len(stats.ends) <= END_POINTS
    assert [p.at for p in stats.ends] == sorted(p.at for p in stats.ends)
    assert [(p.at, p.penalty) for p in stats.penalties] == [(NOW, True)]
    assert stats.last_vote is not None


async def test_the_migration_counts_the_votes_played_before_it(
    open_storage: OpenStorage, database_url: str | None, database_path: Path
) -> None:
    async with open_storage(now=NOW) as db:
        link = await add_link(db)
        for minute in range(3):
            await played(db, link, NOW + timedelta(minutes=minute), seconds=100)
        await played(db, link, NOW - DAY, anonymous=True, operation="SUB", seconds=40)
        before = await db.link_tally(link.id, day_start=NOW.replace(hour=0))
    if database_url is None:
        await rerun_on_sqlite(database_path)
    else:
        await rerun_on_postgres(database_url)

    async with open_storage(now=NOW) as db:
        after = await db.link_tally(link.id, day_start=NOW.replace(hour=0))
    assert after.last_vote is not None
    assert before.last_vote is not None
    assert after.last_vote.id == before.last_vote.id
    assert after.__dict__ | {"last_vote": None} == before.__dict__ | {"last_vote": None}
    assert (after.identified, after.anonymous, after.identified_today) == (3, 1, 3)
    assert (after.seconds_added, after.seconds_removed) == (300, 40)


def tallies_version(migrations: list[Migration]) -> int:
    return next(m.version for m in migrations if m.name.endswith("_history_and_tallies.sql"))


async def rerun_on_sqlite(path: Path) -> None:
    """The database as an older bot left it, then the tallies' migration alone."""
    migrations = sqlite.sqlite_migrations()
    version = tallies_version(migrations)
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await conn.executescript(
            "DROP TRIGGER ledger_played_counts_for_link; DROP TABLE link_days;"
            " DROP TABLE link_totals; DROP INDEX ledger_by_user; DROP INDEX ledger_by_link;"
            " CREATE INDEX ledger_by_link ON ledger (link_id);"
            " ALTER TABLE ledger DROP COLUMN voter_name;"
        )
        await conn.execute(f"PRAGMA user_version = {version - 1}")
        assert await sqlite.apply_migrations(conn, migrations[:version]) == 1  # later ones in place
        await conn.execute(f"PRAGMA user_version = {migrations[-1].version}")


async def rerun_on_postgres(url: str) -> None:
    migrations = postgres.postgres_migrations()
    version = tallies_version(migrations)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "DROP TRIGGER ledger_played_counts_for_link ON ledger;"
            " DROP FUNCTION ledger_played_counts_for_link(); DROP TABLE link_days;"
            " DROP TABLE link_totals; DROP INDEX ledger_by_user; DROP INDEX ledger_by_link;"
            " CREATE INDEX ledger_by_link ON ledger (link_id);"
            " ALTER TABLE ledger DROP COLUMN voter_name;"
        )
        later = await conn.fetch(
            "DELETE FROM schema_migrations WHERE version >= $1 RETURNING *", version
        )
        assert await postgres.apply_migrations(conn, migrations[:version]) == 1
        await conn.executemany(
            "INSERT INTO schema_migrations VALUES ($1, $2, $3)",
            [tuple(row) for row in later if row["version"] > version],
        )
    finally:
        await conn.close()
