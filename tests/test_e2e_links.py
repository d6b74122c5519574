"""`/links add|remove|list` and `/config voter-role` through Discord, and attempts to bypass."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from storage.models import ChannelLink, VoteInterval
from tests.bot_world import (
    ALICE,
    BOB,
    GENERAL,
    GUILD_ID,
    MODERATOR,
    VOTER_ROLE,
    VOTING,
    BotWorld,
    public_result,
    refusal,
)
from tests.fake_discord import Channel, Exchange, Member, OptionValue, Role, autocomplete, slash

OTHER_GUILD_ID = 810_000_000_000_000_099
FOREIGN_CHANNEL = Channel(810_000_000_000_000_098, "elsewhere", OTHER_GUILD_ID)
FOREIGN_ROLE = Role(810_000_000_000_000_097, "elsewhere-voters")


async def moderate(
    world: BotWorld, *names: str, member: Member = MODERATOR, **options: OptionValue
) -> Exchange:
    """A moderation command typed in #general; here `channel` is the command's own option."""
    return await world.run(slash(*names, options=options, member=member, channel=GENERAL))


async def links(world: BotWorld) -> list[ChannelLink]:
    return await world.db.links_in_guild(GUILD_ID)


async def voter_role(world: BotWorld) -> int | None:
    return (await world.db.guild_settings(GUILD_ID)).voter_role_id


# /links add


async def test_links_add_binds_the_link_to_this_channel_by_default(world: BotWorld) -> None:
    token = world.demo.link_token

    answer = await world.add_link(token)

    assert answer.ephemeral
    assert f"Link added: `link` in <#{GENERAL.id}>" in answer.content
    assert "daily" in answer.content
    assert token not in answer.content
    (link,) = await links(world)
    assert (link.channel_id, link.name, link.interval) == (GENERAL.id, "link", VoteInterval.DAILY)
    assert link.anonymous_allowed is True
    assert link.added_by == MODERATOR.id
    assert link.link_token.get_secret_value() == token


async def test_links_add_takes_channel_name_interval_and_anonymous(world: BotWorld) -> None:
    token = world.demo.link_token
    exchange = await moderate(
        world,
        "links",
        "add",
        token=token,
        name="Main Vote",
        channel=VOTING,
        interval="once",
        anonymous=False,
    )
    answer = await exchange.final()

    assert answer.ephemeral
    assert f"`main-vote` in <#{VOTING.id}>" in answer.content
    assert "once" in answer.content
    assert "connected accounts only" in answer.content
    (link,) = await links(world)
    assert (link.channel_id, link.name, link.interval) == (
        VOTING.id,
        "main-vote",
        VoteInterval.ONCE,
    )
    assert link.anonymous_allowed is False
    assert link.link_token.get_secret_value() == token


async def test_links_add_refuses_a_name_already_used_in_the_channel(world: BotWorld) -> None:
    await world.add_link(name="main")

    exchange = await moderate(world, "links", "add", token=world.new_link_token(), name="MAIN")
    answer = await refusal(exchange)

    assert "already has a link named `main`" in answer.content
    assert len(await links(world)) == 1


# /links remove and list


async def test_links_remove_autocompletes_names_and_removes_the_link(world: BotWorld) -> None:
    await world.add_link(name="alpha")
    await world.add_link(world.new_link_token(), name="beta")
    await world.add_link(world.new_link_token(), name="gamma", channel=VOTING)  # typed there

    typing = autocomplete(
        "links", "remove", focused="name", options={"name": ""}, member=MODERATOR, channel=GENERAL
    )
    choices = await (await world.run(typing)).autocomplete_choices()
    assert [c["value"] for c in choices] == ["alpha", "beta"]

    answer = await (await moderate(world, "links", "remove", name="alpha")).final()
    assert answer.ephemeral
    assert f"`alpha` removed from <#{GENERAL.id}>" in answer.content
    elsewhere = await (
        await moderate(world, "links", "remove", name="gamma", channel=VOTING)
    ).final()
    assert f"`gamma` removed from <#{VOTING.id}>" in elsewhere.content
    assert [link.name for link in await links(world)] == ["beta"]


async def test_links_remove_of_an_unknown_name_changes_nothing(world: BotWorld) -> None:
    await world.add_link(name="alpha")

    answer = await refusal(await moderate(world, "links", "remove", name="beta"))

    assert "no link named `beta`" in answer.content
    assert len(await links(world)) == 1


async def test_link_name_autocomplete_offers_nothing_to_members_without_manage_server(
    world: BotWorld,
) -> None:
    await world.add_link(name="alpha")
    typing = autocomplete(
        "links", "remove", focused="name", options={"name": ""}, member=ALICE, channel=GENERAL
    )

    assert await (await world.run(typing)).autocomplete_choices() == []


async def test_links_list_shows_every_link_with_settings_and_masked_tokens(
    world: BotWorld,
) -> None:
    first, second = world.demo.link_token, world.new_link_token()
    await world.add_link(first, name="alpha")
    await world.add_link(second, name="beta", channel=VOTING, interval="once", anonymous=False)

    answer = await world.answer("links", "list", member=MODERATOR)

    assert answer.ephemeral
    alpha, beta = answer.content.splitlines()
    assert alpha.startswith(f"`alpha` in <#{GENERAL.id}>")
    assert "daily, anonymous votes allowed" in alpha
    assert f"…{first[-4:]}" in alpha
    assert beta.startswith(f"`beta` in <#{VOTING.id}>")
    assert "once, connected accounts only" in beta
    assert first not in answer.content
    assert second not in answer.content


async def test_links_list_without_links_says_how_to_add_one(world: BotWorld) -> None:
    answer = await world.answer("links", "list", member=MODERATOR)

    assert answer.ephemeral
    assert "/links add" in answer.content


# /config voter-role


async def test_voter_role_limits_voting_to_its_members_until_cleared(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    await world.connect(BOB, world.sandbox.add_user().api_token)

    answer = await (await moderate(world, "config", "voter-role", role=VOTER_ROLE)).final()
    assert answer.ephemeral
    assert f"<@&{VOTER_ROLE.id}>" in answer.content
    assert answer.allowed_mentions == {"parse": []}
    assert await voter_role(world) == VOTER_ROLE.id

    refused = await refusal(await world.vote(ALICE))
    assert f"<@&{VOTER_ROLE.id}>" in refused.content
    assert world.sandbox.requests == []
    await public_result(await world.vote(replace(ALICE, roles=(VOTER_ROLE.id,))))
    assert len(world.sandbox.requests) == 1

    cleared = await (await moderate(world, "config", "voter-role")).final()
    assert "Every member may vote" in cleared.content
    assert await voter_role(world) is None
    await public_result(await world.vote(BOB))
    assert len(world.sandbox.requests) == 2


# Permissions are checked in our code, whatever Discord's default permissions say

MODERATION = [
    pytest.param(("links", "add"), {"token": "a-new-link-token"}, id="links-add"),
    pytest.param(("links", "remove"), {"name": "link"}, id="links-remove"),
    pytest.param(("links", "list"), {}, id="links-list"),
    pytest.param(("config", "voter-role"), {"role": VOTER_ROLE}, id="config-voter-role"),
]


@pytest.mark.parametrize(("names", "options"), MODERATION)
async def test_moderation_by_a_member_without_manage_server_is_refused(
    world: BotWorld, names: tuple[str, str], options: dict[str, Any]
) -> None:
    await world.add_link()
    before = await links(world)

    answer = await refusal(await moderate(world, *names, member=ALICE, **options))

    assert "Manage Server" in answer.content
    assert await links(world) == before
    assert await voter_role(world) is None


@pytest.mark.parametrize(("names", "options"), MODERATION)
async def test_moderation_from_a_dm_is_refused(
    world: BotWorld, names: tuple[str, str], options: dict[str, Any]
) -> None:
    await world.add_link()
    before = await links(world)

    exchange = await world.run(slash(*names, options=options, user=MODERATOR.user))
    answer = await refusal(exchange)

    assert "server" in answer.content
    assert "Sorry" not in answer.content
    assert await links(world) == before
    assert await voter_role(world) is None


@pytest.mark.parametrize(
    ("names", "options"),
    [
        pytest.param(("links", "add"), {"token": "a-new-link-token"}, id="links-add"),
        pytest.param(("links", "remove"), {"name": "link"}, id="links-remove"),
    ],
)
async def test_a_channel_of_another_server_is_refused(
    world: BotWorld, names: tuple[str, str], options: dict[str, Any]
) -> None:
    world.fake.add_channel(FOREIGN_CHANNEL)
    await world.add_link()
    before = await links(world)

    answer = await refusal(await moderate(world, *names, channel=FOREIGN_CHANNEL, **options))

    assert "not in this server" in answer.content
    assert await links(world) == before
    assert await world.db.links_in_guild(OTHER_GUILD_ID) == []


async def test_a_role_of_another_server_is_refused(world: BotWorld) -> None:
    answer = await refusal(await moderate(world, "config", "voter-role", role=FOREIGN_ROLE))

    assert "not in this server" in answer.content
    assert await voter_role(world) is None
