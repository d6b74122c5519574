"""User installs: a member's own install of the app plays and answers in a group DM, where the
app's bot user is not a member, so every answer goes through the interaction."""

from __future__ import annotations

import discord
import pytest

from tests.bot_world import ALICE, BOB, OWNER, BotWorld, public_result
from tests.fake_discord import (
    CommandNotOffered,
    Member,
    modal_submit,
    slash,
    user_installed,
)

GROUP_DM = 860_000_000_000_000_001
EVERYWHERE = {"integration_types": [0, 1], "contexts": [0, 1, 2]}
SERVER_ONLY = {"integration_types": [0], "contexts": [0]}


def in_group_dm(*names: str, member: Member, **options: object) -> dict:
    typed = slash(*names, options=options, user=member.user)  # type: ignore[arg-type]
    return user_installed(typed, group_dm=GROUP_DM, others=[BOB.user])


@pytest.fixture
async def global_world(world: BotWorld) -> BotWorld:
    """Commands synced globally: Discord offers only global commands outside servers."""
    await world.stop()
    await world.start(dev_guild_id=None)
    return world


async def test_commands_declare_where_they_are_installed_and_used(global_world: BotWorld) -> None:
    synced = {c["name"]: c for c in global_world.fake.synced_commands(None)}

    for name in ("dice", "luck", "dom", "account", "remind", "help"):
        assert {k: synced[name][k] for k in EVERYWHERE} == EVERYWHERE, name
    for name in ("vote", "links", "config", "stats", "propose"):
        assert {k: synced[name][k] for k in SERVER_ONLY} == SERVER_ONLY, name
    offered = global_world.fake.offered_commands(2, {"1"})
    assert offered == ["account", "dice", "dom", "help", "luck", "remind"]


async def test_dice_and_account_status_from_a_group_dm(global_world: BotWorld) -> None:
    world = global_world
    opened = await world.run(in_group_dm("account", "connect", member=OWNER))
    fields = {"api_token": world.demo.owner_token, "default_session": str(world.demo.session_id)}
    submit = user_installed(
        modal_submit(await opened.modal(), fields, user=OWNER.user),
        group_dm=GROUP_DM,
        others=[BOB.user],
    )
    connected = await (await world.run(submit)).final()
    assert connected.ephemeral
    assert "Connected" in connected.content

    played = await world.run(in_group_dm("dice", member=OWNER))
    result = await public_result(played)

    assert f"<@{OWNER.id}> played DICE for session {world.demo.session_id}" in result.content
    assert not result.ephemeral
    assert world.sandbox.requests[-1].body["game"] == "dice"
    assert world.sandbox.requests[-1].bearer == world.demo.owner_token
    status = await (await world.run(in_group_dm("account", "status", member=OWNER))).final()
    assert status.ephemeral
    assert "Connected since" in status.content
    assert f"Default session: {world.demo.session_id}" in status.content
    assert world.fake.channel_messages(GROUP_DM) == []  # nothing went around the interaction
    assert world.fake.errors == []


async def test_the_bot_cannot_post_in_a_group_dm_and_vote_is_not_offered_there(
    global_world: BotWorld,
) -> None:
    world = global_world
    await (await world.run(in_group_dm("help", member=ALICE))).final()

    with pytest.raises(discord.Forbidden):
        await world.bot.get_partial_messageable(GROUP_DM).send("hello")
    with pytest.raises(CommandNotOffered):
        await world.run(in_group_dm("vote", "add", member=ALICE))
    assert "vote" not in world.fake.offered_commands(1, {"1"})
    assert "vote" in world.fake.offered_commands(0, {"0"})


async def test_a_public_result_outside_servers_speaks_the_players_language(
    global_world: BotWorld,
) -> None:
    world = global_world
    owner = Member(OWNER.id, OWNER.name, locale="de")
    await world.submit_connect(owner, world.demo.owner_token, str(world.demo.session_id))

    result = await public_result(await world.run(in_group_dm("luck", member=owner)))

    assert f"<@{owner.id}> hat LUCK für Session" in result.content, result.content
