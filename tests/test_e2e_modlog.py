"""The moderators' log channel receives configuration changes, penalties and tracker errors."""

from __future__ import annotations

from tests.bot_world import ALICE, GENERAL, MODERATOR, OWNER, VOTING, BotWorld
from tests.fake_discord import Member, SentMessage, slash
from tracker.sandbox import Fault


async def choose_log_channel(world: BotWorld, member: Member) -> SentMessage:
    """`/config log-channel channel:#voting`, sent from #general."""
    payload = slash(
        "config", "log-channel", options={"channel": VOTING}, member=member, channel=GENERAL
    )
    return await (await world.run(payload)).final()


async def log_line(world: BotWorld, text: str) -> SentMessage:
    return await world.fake.wait_for_channel_message(VOTING.id, lambda m: text in m.content)


async def test_log_channel_receives_config_changes_penalties_and_tracker_errors(
    world: BotWorld,
) -> None:
    set_log = await choose_log_channel(world, MODERATOR)
    assert set_log.content == f"The moderators' log is now <#{VOTING.id}>."
    await log_line(world, "made this channel the moderators' log")

    await world.add_link()
    added = await log_line(world, "added link `link`")
    assert f"<@{MODERATOR.id}>" in added.content
    assert world.demo.link_token not in added.content

    await world.connect(OWNER, world.demo.owner_token)
    await (await world.command("vote", "add", member=OWNER)).final()
    penalty = await log_line(world, "Penalty on link `link`")
    assert f"<@{OWNER.id}>" in penalty.content

    await world.connect(ALICE, world.demo.voter_token)
    world.sandbox.queue_fault(Fault.html_500())
    await (await world.command("vote", "add", member=ALICE)).final()
    error = await log_line(world, "Tracker error on /vote add")
    assert "HTTP 500" in error.content
    assert f"<@{ALICE.id}>" in error.content

    assert all(
        message.allowed_mentions == {"parse": []}
        for message in world.fake.channel_messages(VOTING.id)
    )


async def test_log_channel_can_be_turned_off(world: BotWorld) -> None:
    await choose_log_channel(world, MODERATOR)
    off = await world.answer("config", "log-channel", member=MODERATOR)
    assert off.content == "The moderators' log is off."
    await world.add_link()
    assert not any("added link" in m.content for m in world.fake.channel_messages(VOTING.id))


async def test_only_moderators_choose_the_log_channel(world: BotWorld) -> None:
    refused = await choose_log_channel(world, ALICE)
    assert refused.ephemeral
    assert "Manage Server" in refused.content
    assert (await world.db.guild_settings(VOTING.guild_id)).log_channel_id is None
