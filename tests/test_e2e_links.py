"""`/links add|remove|list` and `/config voter-role` through Discord, and attempts to bypass."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from storage.models import ChannelLink, VoteInterval
from tests.bot_world import (
    ALICE,
    BOB,
    CATEGORY,
    FORUM,
    GENERAL,
    GUILD_ID,
    HIDDEN,
    MEDIA,
    MODERATOR,
    READ_ONLY,
    VOICE,
    VOTER_ROLE,
    VOTING,
    BotWorld,
    public_result,
    refusal,
)
from tests.fake_discord import (
    ADMINISTRATOR,
    MANAGE_GUILD,
    Channel,
    Exchange,
    Member,
    OptionValue,
    Role,
    autocomplete,
    slash,
)

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


async def test_name_autocomplete_leaves_out_links_in_channels_the_moderator_cannot_view(
    world: BotWorld,
) -> None:
    await world.add_link(name="open")
    await a_vote_in_the_staff_channel(world)

    async def offered(member: Member, options: dict[str, object]) -> list[str]:
        typing = autocomplete(
            "links", "history", focused="name", options=options, member=member, channel=GENERAL
        )
        return [c["value"] for c in await (await world.run(typing)).autocomplete_choices()]

    assert await offered(MODERATOR, {"name": ""}) == ["open"]
    assert await offered(MODERATOR, {"name": "", "channel": HIDDEN}) == []
    assert await offered(ADMIN, {"name": ""}) == ["open", "staff"]
    assert await offered(ADMIN, {"name": "", "channel": HIDDEN}) == ["staff"]


# /links remove and list


async def test_links_remove_autocompletes_names_and_removes_the_link(world: BotWorld) -> None:
    await world.add_link(name="alpha")
    await world.add_link(world.new_link_token(), name="beta")
    await world.add_link(world.new_link_token(), name="gamma", channel=VOTING)  # typed there

    typing = autocomplete(
        "links", "remove", focused="name", options={"name": ""}, member=MODERATOR, channel=GENERAL
    )
    choices = await (await world.run(typing)).autocomplete_choices()
    assert [c["value"] for c in choices] == ["alpha", "beta", "gamma"]  # this channel's first
    assert choices[2]["name"] == "gamma · #voting"
    in_voting = autocomplete(
        "links",
        "remove",
        focused="name",
        options={"name": "", "channel": VOTING},
        member=MODERATOR,
        channel=GENERAL,
    )
    assert [c["name"] for c in await (await world.run(in_voting)).autocomplete_choices()] == [
        "gamma"
    ]

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

    assert answer.content == "This server has no link named `beta`."
    assert len(await links(world)) == 1


# Names found from any channel of the server


async def test_a_moderator_elsewhere_reviews_exports_reposts_and_removes_a_link_by_name(
    world: BotWorld,
) -> None:
    token = world.demo.link_token
    await (await moderate(world, "links", "add", token=token, name="far", channel=VOTING)).final()
    await world.connect(ALICE, world.demo.voter_token)
    await public_result(await world.vote(ALICE, channel=VOTING))

    history = await world.answer("links", "history", member=MODERATOR, name="far")
    assert history.content.startswith("Latest votes on link `far`, newest first:")
    assert f"<@{ALICE.id}>" in history.content
    export = await world.answer("links", "export", member=MODERATOR, name="far")
    assert export.content == "1 vote."
    assert [file.filename for file in export.files] == ["far-votes.csv"]
    reposted = await world.answer("links", "card", member=MODERATOR, name="far")
    assert reposted.content == f"Link `far`: Its card is posted in <#{VOTING.id}>."
    cards = [m for m in world.fake.channel_messages(VOTING.id) if m.components]
    assert len(cards) == 2
    assert [m for m in world.fake.channel_messages(GENERAL.id) if m.components] == []
    removed = await world.answer("links", "remove", member=MODERATOR, name="far")
    assert removed.content == f"Link `far` removed from <#{VOTING.id}>."
    assert await links(world) == []


async def test_a_name_several_channels_have_is_answered_with_the_channels_to_choose_from(
    world: BotWorld,
) -> None:
    await world.add_link(name="main")
    await world.add_link(world.new_link_token(), name="main", channel=VOTING)

    typed_elsewhere = slash(
        "links", "remove", options={"name": "main"}, member=MODERATOR, channel=VOICE
    )
    answer = await refusal(await world.run(typed_elsewhere))
    assert answer.content == (
        f"Several channels have a link named `main`: <#{GENERAL.id}> and <#{VOTING.id}>. "
        "Name the one you mean with the `channel` option."
    )
    assert len(await links(world)) == 2

    here = await world.answer("links", "history", member=MODERATOR, name="main")
    assert here.content == "Link `main` has no votes yet."  # the channel typed in has one
    chosen = await (await moderate(world, "links", "remove", name="main", channel=VOTING)).final()
    assert chosen.content == f"Link `main` removed from <#{VOTING.id}>."
    assert [link.channel_id for link in await links(world)] == [GENERAL.id]


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
    alpha, beta, language, retention = answer.content.splitlines()
    assert language.startswith("Public messages follow Discord's server language (English)")
    assert retention.startswith("Votes keep their voter's id and name")
    assert alpha.startswith(f"`alpha` in <#{GENERAL.id}>")
    assert "daily, shared vote allowed" in alpha
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


# Channel options: only channels that hold messages, and only where the moderator may write

POSTING: list[tuple[tuple[str, str], dict[str, Any]]] = [
    (("links", "add"), {"token": "a-new-link-token"}),
    (("links", "card"), {"name": "link"}),
    (("config", "log-channel"), {}),
]
ADMIN = Member(820_000_000_000_000_009, "admin", permissions=ADMINISTRATOR | MANAGE_GUILD)
MESSAGE_CHANNEL_TYPES = {0, 2, 5, 10, 11, 12, 13}  # text, voice, announcement, threads, stage


def _option(world: BotWorld, group: str, command: str, option: str) -> dict[str, Any]:
    (synced,) = [c for c in world.fake.commands.synced(GUILD_ID) if c["name"] == group]
    (sub,) = [c for c in synced["options"] if c["name"] == command]
    (found,) = [o for o in sub["options"] if o["name"] == option]
    return found


async def test_channel_options_offer_only_channels_that_hold_messages(world: BotWorld) -> None:
    commands = [("links", "add"), ("links", "card"), ("links", "remove"), ("config", "log-channel")]
    for group, command in commands:
        option = _option(world, group, command, "channel")
        assert set(option["channel_types"]) == MESSAGE_CHANNEL_TYPES, (group, command)


async def _links_and_log(world: BotWorld) -> tuple[list[ChannelLink], int | None]:
    return await links(world), (await world.db.guild_settings(GUILD_ID)).log_channel_id


# A category, forum or media channel holds no messages (a client with an older command list may
# still offer one); a hidden or read-only one is not the moderator's to post in.
REFUSED_CHANNELS = [
    pytest.param(CATEGORY, "cannot hold messages", id="category"),
    pytest.param(FORUM, "cannot hold messages", id="forum"),
    pytest.param(MEDIA, "cannot hold messages", id="media"),
    pytest.param(HIDDEN, "You cannot see or write in", id="hidden"),
    pytest.param(READ_ONLY, "You cannot see or write in", id="read-only"),
]


@pytest.mark.parametrize(("channel", "says"), REFUSED_CHANNELS)
async def test_the_bot_posts_only_where_messages_go_and_the_moderator_may_write(
    world: BotWorld, channel: Channel, says: str
) -> None:
    await world.add_link()
    before = await _links_and_log(world)

    for names, options in POSTING:
        answer = await refusal(await moderate(world, *names, channel=channel, **options))

        assert says in answer.content, names
        assert f"<#{channel.id}>" in answer.content, names
    assert await _links_and_log(world) == before
    assert world.fake.store.posted(channel.id) == []


async def test_a_voice_channel_takes_a_link_and_its_card(world: BotWorld) -> None:
    answer = await world.add_link(channel=VOICE)

    assert f"Its card is posted in <#{VOICE.id}>" in answer.content


async def test_a_command_typed_in_a_channel_the_moderator_cannot_write_in_posts_nothing(
    world: BotWorld,
) -> None:
    exchange = await world.run(
        slash(
            "links",
            "add",
            options={"token": world.demo.link_token},
            member=MODERATOR,
            channel=READ_ONLY,
        )
    )

    answer = await refusal(exchange)
    assert f"You cannot see or write in <#{READ_ONLY.id}>" in answer.content
    assert await links(world) == []


async def test_an_administrator_may_post_in_any_channel(world: BotWorld) -> None:
    token = world.demo.link_token
    answer = await world.answer("links", "add", member=ADMIN, token=token, channel=HIDDEN)

    assert f"Its card is posted in <#{HIDDEN.id}>" in answer.content
    log = await moderate(world, "config", "log-channel", member=ADMIN, channel=HIDDEN)
    assert f"now <#{HIDDEN.id}>" in (await log.final()).content


async def a_vote_in_the_staff_channel(world: BotWorld) -> None:
    """A link in a channel the administrator sees and the moderator does not, with one vote."""
    token = world.new_link_token()
    await world.answer("links", "add", member=ADMIN, token=token, name="staff", channel=HIDDEN)
    await public_result(await world.vote(ADMIN, channel=HIDDEN, link="staff"))


@pytest.mark.parametrize("command", ["history", "export"])
async def test_a_moderator_cannot_read_the_votes_of_a_channel_they_cannot_view(
    world: BotWorld, command: str
) -> None:
    await a_vote_in_the_staff_channel(world)

    exchange = await world.command("links", command, member=MODERATOR, name="staff", channel=HIDDEN)

    answer = await refusal(exchange)
    assert answer.content == (
        f"You cannot view <#{HIDDEN.id}> yourself, so the bot does not show you its links' votes."
    )
    assert answer.files == ()
    allowed = await (
        await world.command("links", command, member=ADMIN, name="staff", channel=HIDDEN)
    ).final()
    assert "`staff`" in allowed.content or allowed.files, allowed


async def test_links_list_leaves_out_links_in_channels_the_moderator_cannot_view(
    world: BotWorld,
) -> None:
    await world.add_link(name="open")
    await a_vote_in_the_staff_channel(world)

    answer = await world.answer("links", "list", member=MODERATOR)

    assert answer.ephemeral
    shown, note, _language, _retention = answer.content.splitlines()
    assert shown.startswith(f"`open` in <#{GENERAL.id}>")
    assert note == "1 link in a channel you cannot view is not shown."
    assert str(HIDDEN.id) not in answer.content
    everything = await world.answer("links", "list", member=ADMIN)
    assert len(everything.content.splitlines()) == 4
    assert f"`staff` in <#{HIDDEN.id}>" in everything.content
