"""`/stats` and the cards' Stats button end to end: the figures, the chart, who may ask."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import re
import signal
import time
from datetime import timedelta

from matplotlib.image import imread

from i18n.formats import MINUS, format_duration
from settings import Settings
from tests.bot_world import (
    ALICE,
    BOB,
    GENERAL,
    GUILD_ID,
    MODERATOR,
    OWNER,
    VOTER_ROLE,
    BotWorld,
    public_result,
    refusal,
)
from tests.fake_discord import Channel, Member, SentMessage, button_click, slash
from tests.helpers_faults import new_member
from tests.test_e2e_cards import buttons, posted_card

OTHER_GUILD_ID = 810_000_000_000_000_301
OTHER_CHANNEL = Channel(810_000_000_000_000_310, "elsewhere", OTHER_GUILD_ID)
OTHER_MEMBER = Member(820_000_000_000_000_301, "elsewhere")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TRY_AGAIN = re.compile(
    r"The bot draws one chart per member every 10 seconds, so nothing was drawn this time\. "
    r"Try again <t:\d+:R>\."
)
CHART_DEADLINE = Settings.model_fields["chart_deadline_seconds"].default


def field(answer: SentMessage, name: str) -> str:
    (embed,) = answer.embeds
    return next(f["value"] for f in embed["fields"] if f["name"] == name)


def signed_net(seconds: int) -> str:
    return ("+" if seconds > 0 else MINUS) + format_duration(abs(seconds), "en")


async def three_votes(world: BotWorld) -> None:
    """Alice with her account, Bob anonymously, the owner on their own link (a penalty)."""
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    await public_result(await world.vote(ALICE, "add"))
    await public_result(await world.vote(BOB, "sub"))
    await world.connect(OWNER, world.demo.owner_token)
    await public_result(await world.vote(OWNER, "rand"))


def assert_shows_the_chart(answer: SentMessage) -> None:
    """A PNG of sensible size, opaque everywhere: it reads the same on dark and light themes."""
    (file,) = answer.files
    assert file.filename == "stats.png"
    assert answer.embeds[0]["image"]["url"] == "attachment://stats.png"
    assert file.data.startswith(PNG_SIGNATURE)
    assert 5_000 < len(file.data) < 1_000_000
    pixels = imread(io.BytesIO(file.data), format="png")
    height, width, channels = pixels.shape
    assert (width, height) == (800, 500)
    assert channels == 3 or pixels[:, :, 3].min() == 1.0


async def test_stats_show_the_links_figures_and_a_chart(world: BotWorld) -> None:
    await three_votes(world)
    alice, bob, owner = world.sandbox.histories
    ledger = await world.ledger()

    answer = await world.answer("stats", member=BOB)

    assert answer.ephemeral
    (embed,) = answer.embeds
    assert embed["title"] == "Statistics of link “link”"
    assert embed["description"] == "Last 30 days (UTC)"
    assert field(answer, "Votes") == "3 votes (2 with an account, 1 shared)"
    added = sum(h.seconds for h in (alice, bob, owner) if h.operation == "ADD")
    removed = sum(h.seconds for h in (alice, bob, owner) if h.operation == "SUB")
    time_field = field(answer, "Time")
    assert (f"+{format_duration(added, 'en')} added" if added else "none added") in time_field
    assert (f"{MINUS}{format_duration(removed, 'en')} removed" if removed else "none removed") in (
        time_field
    )
    end = int(ledger[0].scheduled_end.timestamp())
    assert field(answer, "Scheduled end") == f"<t:{end}:F> (<t:{end}:R>)"
    nets = {
        voter.id: (1 if played.operation == "ADD" else -1) * played.seconds
        for voter, played in ((ALICE, alice), (OWNER, owner))
    }
    ranked = sorted(nets, key=lambda user_id: (-nets[user_id], user_id))
    assert field(answer, "Most active voters").split("\n") == [
        f"{rank}. <@{user_id}>: 1 vote, net {signed_net(nets[user_id])}"
        for rank, user_id in enumerate(ranked, start=1)
    ]
    assert str(BOB.id) not in str(embed)  # anonymous votes name nobody
    assert (answer.allowed_mentions or {}).get("parse") == []
    assert_shows_the_chart(answer)


async def test_the_period_counts_whole_utc_days_back_from_today(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    await public_result(await world.vote(ALICE, "add"))
    world.sandbox.advance(timedelta(days=9))
    await public_result(await world.vote(ALICE, "sub"))

    week = await world.answer("stats", member=ALICE, period="7d")
    world.sandbox.advance(timedelta(seconds=10))  # one chart per member per 10 s
    everything = await world.answer("stats", member=ALICE, period="all")

    assert field(week, "Votes") == "1 vote (1 with an account, 0 shared)"
    assert week.embeds[0]["description"] == "Last 7 days (UTC)"
    assert field(everything, "Votes") == "2 votes (2 with an account, 0 shared)"
    assert everything.embeds[0]["description"] == "Since the link was added (days in UTC)"
    assert_shows_the_chart(everything)


async def test_the_cards_stats_button_answers_like_the_command_privately(
    world: BotWorld,
) -> None:
    await three_votes(world)
    card = await posted_card(world)
    stats_id = next(b["custom_id"] for b in buttons(card) if b["label"] == "Stats")

    exchange = await world.run(
        button_click(stats_id, message_id=card.id, member=BOB, channel=GENERAL)
    )

    answer = await exchange.final()
    assert answer.ephemeral
    assert [m for m in exchange.messages if not m.ephemeral] == []
    assert field(answer, "Votes") == "3 votes (2 with an account, 1 shared)"
    assert_shows_the_chart(answer)
    assert world.fake.channel_messages(GENERAL.id)[-1].id == card.id  # nothing posted


async def test_a_link_without_played_votes_answers_in_one_sentence(world: BotWorld) -> None:
    await world.add_link()

    answer = await world.answer("stats", member=ALICE)

    assert answer.content == "Link `link` has no counted votes yet."
    assert answer.files == ()


async def test_only_members_who_may_vote_see_the_stats(world: BotWorld) -> None:
    await three_votes(world)
    await world.answer("config", "voter-role", member=MODERATOR, role=VOTER_ROLE)

    answer = await refusal(await world.command("stats", member=BOB))

    assert "may vote in this server" in answer.content
    assert answer.files == ()


async def test_another_servers_member_cannot_use_our_cards_stats_button(world: BotWorld) -> None:
    await world.stop()
    world.fake.add_guild(OTHER_GUILD_ID, "Other server", [OTHER_CHANNEL], [])
    await world.start()
    await three_votes(world)
    card = await posted_card(world)
    stats_id = next(b["custom_id"] for b in buttons(card) if b["label"] == "Stats")

    exchange = await world.run(
        button_click(stats_id, message_id=card.id, member=OTHER_MEMBER, channel=OTHER_CHANNEL)
    )

    answer = await refusal(exchange)
    assert answer.content == "That link belongs to another server."
    assert answer.files == ()


async def test_stats_speak_the_members_language(world: BotWorld) -> None:
    await three_votes(world)
    german = Member(ALICE.id, ALICE.name, locale="de")

    answer = await (await world.run(slash("stats", member=german, channel=GENERAL))).final()

    assert answer.embeds[0]["title"] == "Statistik von Link „link“"
    assert field(answer, "Stimmen") == "3 Stimmen (2 mit Konto, 1 gemeinsam)"
    assert_shows_the_chart(answer)


async def test_stats_is_offered_in_servers_with_its_options(world: BotWorld) -> None:
    (command,) = [c for c in world.fake.synced_commands(GUILD_ID) if c["name"] == "stats"]

    assert command["contexts"] == [0]  # guilds only, never DMs
    link, period = command["options"]
    assert (link["name"], link["autocomplete"], link.get("required", False)) == (
        "link",
        True,
        False,
    )
    assert [choice["value"] for choice in period["choices"]] == ["7d", "30d", "all"]


async def test_a_burst_of_stats_from_one_member_draws_one_chart(world: BotWorld) -> None:
    await three_votes(world)

    exchanges = [await world.command("stats", member=BOB) for _ in range(8)]
    answers = await asyncio.gather(*(exchange.final() for exchange in exchanges))

    charts = [answer for answer in answers if answer.files]
    assert len(charts) == 1
    assert_shows_the_chart(charts[0])
    refused = [answer for answer in answers if not answer.files]
    assert len(refused) == 7
    for answer in refused:
        assert answer.ephemeral
        assert answer.embeds == []
        assert TRY_AGAIN.fullmatch(answer.content), answer.content
    world.sandbox.advance(timedelta(seconds=10))
    assert_shows_the_chart(await world.answer("stats", member=BOB))


async def test_a_hung_chart_is_given_up_and_the_next_one_is_drawn(world: BotWorld) -> None:
    """A worker stopped by SIGSTOP: its draw meets the deadline; four charts at once at most."""
    await three_votes(world)
    assert_shows_the_chart(await world.answer("stats", member=ALICE))  # the worker runs
    workers = multiprocessing.active_children()
    assert workers
    for worker in workers:
        os.kill(worker.pid, signal.SIGSTOP)
    members = [new_member("stats") for _ in range(5)]
    started = time.monotonic()

    exchanges = [await world.command("stats", member=member) for member in members]
    # Which of the five finds four ahead of it depends on how fast each reads its figures.
    answers = await asyncio.gather(*(exchange.final(within=60) for exchange in exchanges))

    drawn = [answer for answer in answers if answer.files]
    refused = sorted(answer.content for answer in answers if not answer.files)
    assert refused == [
        "Drawing the chart took too long, so the bot gave it up. Try again in a moment.",
        "The bot is busy drawing other charts, so nothing was drawn. Try again shortly.",
    ]
    assert len(drawn) == 3
    assert time.monotonic() - started < CHART_DEADLINE + 5
    for answer in drawn:
        assert_shows_the_chart(answer)
    world.sandbox.advance(timedelta(seconds=10))
    assert_shows_the_chart(await world.answer("stats", member=ALICE))
    assert all(not worker.is_alive() for worker in workers)
