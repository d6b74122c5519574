"""`/propose` end to end: a member proposes a link, moderators approve or reject it in their log,
and a proposal nobody decides expires after a week."""

from __future__ import annotations

from datetime import timedelta

from storage.models import LinkProposal
from tests.bot_world import (
    ALICE,
    BOB,
    GENERAL,
    GUILD_ID,
    MODERATOR,
    VOTING,
    BotWorld,
    public_result,
    refusal,
)
from tests.fake_discord import Exchange, Member, SentMessage, button_click, slash

LOG = VOTING  # the moderators' log in these tests; links are proposed for #general
FAR_FUTURE = timedelta(days=3650)


def buttons(message: SentMessage) -> list[dict]:
    return [button for row in message.components for button in row["components"]]


async def set_log_channel(world: BotWorld) -> None:
    typed = slash(
        "config", "log-channel", options={"channel": LOG}, member=MODERATOR, channel=GENERAL
    )
    assert "moderators' log is now" in (await (await world.run(typed)).final()).content


async def propose(world: BotWorld, member: Member = ALICE, **options: object) -> Exchange:
    options.setdefault("token", world.demo.link_token)
    return await world.command("propose", member=member, channel=GENERAL, **options)


async def proposal_message(world: BotWorld) -> SentMessage:
    return await world.fake.wait_for_channel_message(LOG.id, lambda m: bool(m.components))


async def press(world: BotWorld, message: SentMessage, label: str, member: Member) -> Exchange:
    custom_id = next(b["custom_id"] for b in buttons(message) if b["label"] == label)
    return await world.run(
        button_click(custom_id, message_id=message.id, member=member, channel=LOG)
    )


async def open_proposals(world: BotWorld) -> list[LinkProposal]:
    return await world.db.proposals_created_before(world.sandbox.now() + FAR_FUTURE)


async def decided(world: BotWorld, message: SentMessage, text: str) -> SentMessage:
    return await world.fake.wait_for_channel_message(
        LOG.id, lambda m: m.id == message.id and text in m.content
    )


async def dm(world: BotWorld, member: Member) -> SentMessage:
    return await world.fake.wait_for_channel_message(world.fake.dm_channel_id(member.id))


async def test_an_approved_proposal_is_bound_with_its_card_and_members_vote_on_it(
    world: BotWorld,
) -> None:
    await set_log_channel(world)
    token = world.demo.link_token

    answer = await (await propose(world, name="Main", interval="once")).final()
    posted = await proposal_message(world)

    assert answer.ephemeral
    assert "with the moderators" in answer.content
    assert f"<@{ALICE.id}> proposes link `main` for <#{GENERAL.id}>" in posted.content
    assert f"…{token[-4:]}" in posted.content
    assert "once, shared vote allowed" in posted.content
    assert token not in posted.content + str(posted.components)
    assert [b["label"] for b in buttons(posted)] == ["Approve", "Reject"]
    assert posted.allowed_mentions == {"parse": []}

    approval = await (await press(world, posted, "Approve", MODERATOR)).final()

    assert approval.ephemeral
    assert "Link added: `main`" in approval.content
    assert "card is posted" in approval.content
    closed = await decided(world, posted, "Approved by")
    assert f"Approved by <@{MODERATOR.id}>" in closed.content
    assert all(b.get("disabled") for b in buttons(closed))
    (link,) = await world.db.links_in_guild(GUILD_ID)
    assert (link.name, link.channel_id, link.added_by) == ("main", GENERAL.id, MODERATOR.id)
    assert link.link_token.get_secret_value() == token
    card = await world.fake.wait_for_channel_message(GENERAL.id, lambda m: bool(m.components))
    assert card.embeds[0]["title"] == "Vote on link “main”"
    told = await dm(world, ALICE)
    assert "is approved" in told.content
    assert await open_proposals(world) == []

    vote = await world.vote(BOB)
    assert (
        f"<@{BOB.id}> voted with the channel's shared vote" in (await public_result(vote)).content
    )


async def test_a_rejected_proposal_binds_nothing_and_the_proposer_is_told(world: BotWorld) -> None:
    await set_log_channel(world)
    await (await propose(world)).final()
    posted = await proposal_message(world)

    answer = await (await press(world, posted, "Reject", MODERATOR)).final()

    assert answer.ephemeral
    assert "Rejected" in answer.content
    closed = await decided(world, posted, "Rejected by")
    assert f"Rejected by <@{MODERATOR.id}>" in closed.content
    assert all(b.get("disabled") for b in buttons(closed))
    assert "was rejected" in (await dm(world, ALICE)).content
    assert await world.db.links_in_guild(GUILD_ID) == []
    assert await open_proposals(world) == []


async def test_members_without_manage_server_cannot_decide(world: BotWorld) -> None:
    await set_log_channel(world)
    await (await propose(world)).final()
    posted = await proposal_message(world)

    refused = await refusal(await press(world, posted, "Approve", BOB))

    assert "Manage Server" in refused.content
    assert await world.db.links_in_guild(GUILD_ID) == []
    assert len(await open_proposals(world)) == 1
    assert world.fake.message(posted.id).edits == 0


async def test_without_a_log_channel_a_proposal_is_refused_and_nothing_stored(
    world: BotWorld,
) -> None:
    refused = await refusal(await propose(world))

    assert "/config log-channel" in refused.content
    assert world.demo.link_token not in refused.content
    assert await open_proposals(world) == []


async def test_one_open_proposal_per_member(world: BotWorld) -> None:
    await set_log_channel(world)
    await (await propose(world)).final()

    refused = await refusal(await propose(world, token=world.new_link_token()))

    assert "already have an open proposal" in refused.content
    assert len(await open_proposals(world)) == 1


async def test_a_proposal_nobody_decides_expires_after_seven_days(world: BotWorld) -> None:
    await set_log_channel(world)
    await (await propose(world)).final()
    posted = await proposal_message(world)

    world.sandbox.advance(timedelta(days=6, hours=23))
    assert len(await open_proposals(world)) == 1
    world.sandbox.advance(timedelta(hours=1, seconds=1))

    closed = await decided(world, posted, "Expired")
    assert all(b.get("disabled") for b in buttons(closed))
    assert "expired" in (await dm(world, ALICE)).content
    assert await open_proposals(world) == []
    late = await refusal(await press(world, posted, "Approve", MODERATOR))
    assert "no longer open" in late.content
    assert await world.db.links_in_guild(GUILD_ID) == []


async def test_buttons_work_after_a_restart(world: BotWorld) -> None:
    await set_log_channel(world)
    await (await propose(world)).final()
    posted = await proposal_message(world)

    await world.restart()
    approval = await (await press(world, posted, "Approve", MODERATOR)).final()

    assert "Link added" in approval.content
    assert len(await world.db.links_in_guild(GUILD_ID)) == 1


async def test_a_token_already_bound_is_refused_and_the_proposal_stays_open(
    world: BotWorld,
) -> None:
    await set_log_channel(world)
    await (await propose(world)).final()
    posted = await proposal_message(world)
    await world.add_link(channel=VOTING, name="first")  # the same token, bound meanwhile

    refused = await refusal(await press(world, posted, "Approve", MODERATOR))

    assert "already set up in this server: link `first`" in refused.content
    assert len(await open_proposals(world)) == 1
    assert not any(b.get("disabled") for b in buttons(world.fake.message(posted.id)))
    assert [link.name for link in await world.db.links_in_guild(GUILD_ID)] == ["first"]
    again = await refusal(await propose(world, member=BOB))
    assert "already set up in this server" in again.content


async def test_the_log_speaks_the_servers_language_and_the_dm_the_proposers(
    world: BotWorld,
) -> None:
    await set_log_channel(world)
    world.fake.set_guild_locale(GUILD_ID, "de")
    french = Member(ALICE.id, ALICE.name, locale="fr")

    answer = await (await propose(world, member=french)).final()
    posted = await proposal_message(world)
    await (await press(world, posted, "Ablehnen", MODERATOR)).final()

    assert "Votre proposition" in answer.content
    assert f"<@{ALICE.id}> schlägt einen Link für <#{GENERAL.id}> vor" in posted.content
    assert [b["label"] for b in buttons(posted)] == ["Genehmigen", "Ablehnen"]
    assert "Abgelehnt von" in (await decided(world, posted, "Abgelehnt von")).content
    assert "a été refusé" in (await dm(world, ALICE)).content
