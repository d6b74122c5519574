"""Cards, tallies and due reminders on a real database file."""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr

from storage.interface import Storage
from storage.models import ChannelLink, NewLink, VoteInterval
from tests.helpers_storage import CHANNEL, GUILD, NOW, USER, played, vote

DAY = timedelta(hours=24)


async def add_link(db: Storage, interval: VoteInterval = VoteInterval.DAILY) -> ChannelLink:
    return await db.add_link(
        NewLink(
            guild_id=GUILD,
            channel_id=CHANNEL,
            name=f"l{interval}",
            link_token=SecretStr("t"),
            interval=interval,
            added_by=1,
        ),
        now=NOW,
    )


async def test_tally_counts_played_votes_today_and_in_total(db: Storage) -> None:
    link = await add_link(db)
    await played(db, link, NOW - DAY, seconds=600)
    await played(db, link, NOW, anonymous=True, operation="SUB", seconds=120)
    last = await played(db, link, NOW + timedelta(minutes=1), user_id=USER + 1, seconds=60)
    refused = await db.begin_call(vote(link.id, user_id=USER + 2), now=NOW)
    await db.finish_refused(refused, "rejected", "no", now=NOW)

    tally = await db.link_tally(link.id, day_start=NOW.replace(hour=0))

    assert (tally.identified, tally.anonymous) == (2, 1)
    assert (tally.identified_today, tally.anonymous_today) == (1, 1)
    assert (tally.seconds_added, tally.seconds_removed) == (660, 120)
    assert tally.last_vote is not None
    assert tally.last_vote.id == last


async def test_cards_are_listed_per_link_and_vanish_with_it(db: Storage) -> None:
    link = await add_link(db)
    await db.add_card(link.id, CHANNEL, 11, now=NOW)
    await db.add_card(link.id, CHANNEL, 12, now=NOW + timedelta(seconds=1))
    assert [card.message_id for card in await db.cards_of_link(link.id)] == [11, 12]
    await db.forget_card(11)
    assert [card.message_id for card in await db.cards_of_link(link.id)] == [12]
    await db.remove_link(GUILD, CHANNEL, link.name)
    assert await db.cards_of_link(link.id) == []


async def test_a_reminder_is_due_once_the_window_passed_and_only_once(db: Storage) -> None:
    link = await add_link(db)
    await db.subscribe_reminders(USER, now=NOW)
    entry = await played(db, link, NOW)

    assert await db.due_reminders(now=NOW + DAY - timedelta(seconds=1), window=DAY) == []
    (due,) = await db.due_reminders(now=NOW + DAY, window=DAY)
    assert (due.ledger_id, due.link_name, due.reopened_at) == (entry, link.name, NOW + DAY)
    await db.mark_reminded(entry, delivered=False, now=NOW + DAY)
    assert await db.due_reminders(now=NOW + 2 * DAY, window=DAY) == []


async def test_reminders_skip_old_reopenings_later_votes_once_links_and_unsubscribed(
    db: Storage,
) -> None:
    daily, once = await add_link(db), await add_link(db, VoteInterval.ONCE)
    await played(db, daily, NOW - 2 * DAY)  # reopened before the member subscribed
    await played(db, once, NOW)
    await db.subscribe_reminders(USER, now=NOW)
    assert await db.due_reminders(now=NOW + 3 * DAY, window=DAY) == []

    first = await played(db, daily, NOW + timedelta(hours=1))
    second = await played(db, daily, NOW + timedelta(hours=2))
    (due,) = await db.due_reminders(now=NOW + 3 * DAY, window=DAY)
    assert due.ledger_id == second != first

    assert await db.unsubscribe_reminders(USER) is True
    assert await db.due_reminders(now=NOW + 3 * DAY, window=DAY) == []
    assert await db.is_subscribed(USER) is False
