"""Channel links and guild settings."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from storage.errors import LinkNameTaken
from storage.interface import Storage
from storage.models import (
    ChannelLink,
    GuildSettings,
    LedgerStatus,
    NewLink,
    PlayedResult,
    VoteInterval,
)
from storage.read_cache import ReadCache
from tests.helpers_ledger import Location, ledger_entry
from tests.helpers_storage import CHANNEL, GUILD, NOW, USER, vote


async def add(
    db: Storage, name: str, *, channel_id: int = CHANNEL, guild_id: int = GUILD
) -> ChannelLink:
    return await db.add_link(
        NewLink(
            guild_id=guild_id,
            channel_id=channel_id,
            name=name,
            link_token=SecretStr(f"token-of-{name}"),
            interval=VoteInterval.DAILY,
            anonymous_allowed=True,
            added_by=USER,
        ),
        now=NOW,
    )


async def test_add_and_get(db: Storage) -> None:
    new = NewLink(
        guild_id=GUILD,
        channel_id=CHANNEL,
        name="alice",
        link_token=SecretStr("secret-link-token"),
        interval=VoteInterval.ONCE,
        anonymous_allowed=False,
        added_by=USER,
    )
    link = await db.add_link(new, now=NOW)
    assert link == ChannelLink(
        id=link.id,
        guild_id=GUILD,
        channel_id=CHANNEL,
        name="alice",
        link_token=link.link_token,
        interval=VoteInterval.ONCE,
        anonymous_allowed=False,
        added_by=USER,
        added_at=NOW,
        session_id=None,
    )
    assert link.link_token.get_secret_value() == "secret-link-token"
    assert "secret-link-token" not in repr(link) + repr(new)
    assert await db.get_link(link.id) == link
    assert await db.get_link(link.id + 1) is None


async def test_defaults_are_daily_and_anonymous_allowed(db: Storage) -> None:
    link = await db.add_link(
        NewLink(
            guild_id=GUILD, channel_id=CHANNEL, name="a", link_token=SecretStr("t"), added_by=USER
        ),
        now=NOW,
    )
    assert (link.interval, link.anonymous_allowed) == (VoteInterval.DAILY, True)


async def test_names_are_unique_per_channel(db: Storage) -> None:
    await add(db, "alice")
    with pytest.raises(LinkNameTaken, match="alice"):
        await add(db, "alice")
    with pytest.raises(LinkNameTaken):
        await add(db, "ALICE")
    await add(db, "alice", channel_id=CHANNEL + 1)
    await add(db, "alice", guild_id=GUILD + 1)
    assert [link.name for link in await db.links_in_channel(GUILD, CHANNEL)] == ["alice"]


async def test_listing_order(db: Storage) -> None:
    await add(db, "carol", channel_id=2)
    await add(db, "bob", channel_id=1)
    await add(db, "alice", channel_id=2)
    await add(db, "dave", channel_id=1, guild_id=GUILD + 1)
    assert [link.name for link in await db.links_in_channel(GUILD, 2)] == ["alice", "carol"]
    in_guild = [(link.channel_id, link.name) for link in await db.links_in_guild(GUILD)]
    assert in_guild == [(1, "bob"), (2, "alice"), (2, "carol")]
    assert await db.links_in_channel(GUILD, 3) == []


async def test_remove(db: Storage) -> None:
    link = await add(db, "alice")
    keep = await add(db, "bob")
    assert await db.remove_link(GUILD, CHANNEL + 1, "alice") is None
    assert await db.remove_link(GUILD, CHANNEL, "alice") == link
    assert await db.remove_link(GUILD, CHANNEL, "alice") is None
    assert await db.get_link(link.id) is None
    assert await db.links_in_channel(GUILD, CHANNEL) == [keep]


async def test_removed_link_ids_are_never_reused(db: Storage) -> None:
    first = await add(db, "alice")
    await db.remove_link(GUILD, CHANNEL, "alice")
    again = await add(db, "alice")
    assert again.id > first.id


async def test_removing_a_link_keeps_its_ledger_rows(
    db: Storage, ledger_location: Location
) -> None:
    link = await add(db, "alice")
    entry_id = await db.begin_call(vote(link.id), now=NOW)
    await db.finish_played(entry_id, PlayedResult("ADD", 60, 1.0, False, NOW, 9), now=NOW)
    await db.remove_link(GUILD, CHANNEL, "alice")
    entry = ledger_entry(ledger_location, entry_id)
    assert entry is not None
    assert (entry.link_id, entry.status, entry.session_id) == (None, LedgerStatus.PLAYED, 9)


async def test_session_is_learnt_later(db: Storage) -> None:
    link = await add(db, "alice")
    await db.set_link_session(link.id, 1234)
    stored = await db.get_link(link.id)
    assert stored is not None
    assert stored.session_id == 1234


async def test_guild_settings_default_then_set_and_cleared(db: Storage) -> None:
    assert await db.guild_settings(GUILD) == GuildSettings(GUILD, None, None)
    await db.set_voter_role(GUILD, 11)
    await db.set_log_channel(GUILD, 22)
    await db.set_voter_role(GUILD + 1, 33)
    assert await db.guild_settings(GUILD) == GuildSettings(GUILD, 11, 22)
    await db.set_voter_role(GUILD, None)
    assert await db.guild_settings(GUILD) == GuildSettings(GUILD, None, 22)
    await db.set_log_channel(GUILD, None)
    assert await db.guild_settings(GUILD) == GuildSettings(GUILD, None, None)
    assert await db.guild_settings(GUILD + 1) == GuildSettings(GUILD + 1, 33, None)


async def test_a_channel_s_links_follow_each_change(db: Storage) -> None:
    """Every vote reads its channel's links from a cache; each change must reach the next vote."""
    assert await db.links_in_channel(GUILD, CHANNEL) == []
    link = await add(db, "alice")
    assert await db.links_in_channel(GUILD, CHANNEL) == [link]
    await db.set_link_session(link.id, 1234)
    [learnt] = await db.links_in_channel(GUILD, CHANNEL)
    assert learnt.session_id == 1234
    await db.remove_link(GUILD, CHANNEL, "alice")
    assert await db.links_in_channel(GUILD, CHANNEL) == []


async def test_a_read_overlapping_a_change_is_not_kept(db: Storage) -> None:
    assert await db.links_in_channel(GUILD, CHANNEL) == []
    await db.remove_link(GUILD, CHANNEL, "nothing")  # empties the cache: the next read asks SQLite
    before, link = await asyncio.gather(db.links_in_channel(GUILD, CHANNEL), add(db, "alice"))
    assert before == []  # read before the insert ran …
    assert await db.links_in_channel(GUILD, CHANNEL) == [link]  # … and not kept after it


async def test_a_change_whose_caller_was_cancelled_still_reaches_readers(db: Storage) -> None:
    assert await db.guild_settings(GUILD) == GuildSettings(GUILD, None, None)
    change = asyncio.create_task(db.set_voter_role(GUILD, 11))
    await asyncio.sleep(0)  # the change starts: its statement goes to the database thread
    change.cancel()
    with pytest.raises(asyncio.CancelledError):
        await change
    assert await db.guild_settings(GUILD) == GuildSettings(GUILD, 11, None)
    assert await db.guild_settings(GUILD) == GuildSettings(GUILD, 11, None)  # and once cached


async def test_read_cache_is_bounded_and_refuses_answers_older_than_a_change() -> None:
    cache: ReadCache[int, str] = ReadCache(limit=2)
    for key in (1, 2, 3):
        cache.put(key, f"v{key}", cache.generation)
    assert (len(cache), cache.get(1), cache.get(3)) == (2, None, "v3")
    read_at = cache.generation
    cache.clear()
    cache.put(4, "read before the change", read_at)
    assert (len(cache), cache.get(4)) == (0, None)

    cache.put(5, "read before the change", cache.generation)
    written = asyncio.Event()
    change = asyncio.create_task(cache.changed_by(written.wait()))
    await asyncio.sleep(0)  # the change is on its way
    assert cache.get(5) is None
    cache.put(5, "read during the change", cache.generation)
    assert cache.get(5) is None
    written.set()
    await change
    cache.put(5, "read after the change", cache.generation)
    assert cache.get(5) == "read after the change"
