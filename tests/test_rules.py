"""The bot's rules, called without Discord: real sandbox over loopback, real database file."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from discord_layer.vote_limits import limit_refusal
from i18n.message import Moment, Name, Names, Role
from services.actor import Actor
from services.calls import GameCaller
from services.container import Services
from services.errors import (
    AlreadyInProgress,
    BadInput,
    LinkNotResolved,
    NotAllowed,
    NotConnected,
    VoteLimited,
)
from services.links import ChannelChoice, LinkRequest
from services.voting import CONNECT_HINT, LinkByName, VoteOutcome
from storage.interface import Storage
from storage.models import ChannelLink, LedgerStatus, NewCall, VoteInterval
from tests.helpers_ledger import Location, calls, recent_calls
from tracker import errors
from tracker.models import Game, LuckResult, Operation, VoteType
from tracker.sandbox import Fault, SandboxTracker

GUILD, CHANNEL = 10, 20
MODERATOR = Actor(user_id=1, guild_id=GUILD, channel_id=CHANNEL, manage_guild=True)
THE_LINK = LinkByName(None)  # the channel's only link


def member(user_id: int, *roles: int) -> Actor:
    return Actor(user_id=user_id, guild_id=GUILD, channel_id=CHANNEL, role_ids=frozenset(roles))


@pytest.fixture
def demo(sandbox: SandboxTracker):
    return sandbox.demo()


async def add_link(
    services: Services,
    token: str,
    *,
    interval: VoteInterval = VoteInterval.DAILY,
    anonymous: bool = True,
    name: str | None = None,
) -> ChannelLink:
    return await services.links.add(
        MODERATOR, LinkRequest(token, name, None, interval=interval, anonymous_allowed=anonymous)
    )


async def test_identified_vote_sends_the_members_token_and_is_played_in_the_ledger(
    services: Services, sandbox: SandboxTracker, db: Storage, demo, ledger_location: Location
) -> None:
    link = await add_link(services, demo.link_token)
    await services.accounts.connect(member(2), demo.voter_token, "")

    outcome = await services.voting.vote(member(2), THE_LINK, VoteType.ADD)

    sent = sandbox.requests[-1]
    assert sent.bearer == demo.voter_token
    assert sent.body == {"game": "link", "dom": 0, "token": demo.link_token, "type": "add"}
    assert outcome.anonymous is False
    assert outcome.result.operation is Operation.ADD
    (entry,) = recent_calls(ledger_location, GUILD)
    assert entry.status is LedgerStatus.PLAYED
    assert (entry.user_id, entry.link_id, entry.anonymous) == (2, link.id, False)
    assert entry.seconds == outcome.result.seconds
    assert (await db.get_link(link.id)).session_id == demo.session_id


async def test_daily_link_refuses_a_second_vote_locally_until_24_hours_passed(
    services: Services, sandbox: SandboxTracker, demo
) -> None:
    await add_link(services, demo.link_token)
    await services.accounts.connect(member(2), demo.voter_token, "")
    await services.voting.vote(member(2), THE_LINK, VoteType.ADD)

    with pytest.raises(VoteLimited) as refused:
        await services.voting.vote(member(2), THE_LINK, VoteType.SUB)
    assert len(sandbox.requests) == 1
    limit = refused.value.limit
    assert (limit.anonymous, limit.uncertain) == (False, False)
    assert limit.at is not None
    assert limit.at - sandbox.now() > timedelta(hours=23, minutes=59)
    assert limit_refusal(limit).params["when"] == Moment(limit.at, "relative")

    sandbox.advance(timedelta(hours=24, seconds=1))
    await services.voting.vote(member(2), THE_LINK, VoteType.SUB)
    assert len(sandbox.requests) == 2


async def test_once_link_refuses_a_second_vote_for_good(
    services: Services, sandbox: SandboxTracker, demo
) -> None:
    await add_link(services, demo.link_token, interval=VoteInterval.ONCE)
    await services.accounts.connect(member(2), demo.voter_token, "")
    await services.voting.vote(member(2), THE_LINK, VoteType.RAND)
    sandbox.advance(timedelta(days=30))

    with pytest.raises(VoteLimited) as refused:
        await services.voting.vote(member(2), THE_LINK, VoteType.ADD)
    assert refused.value.limit.at is None
    assert "one vote per person" in limit_refusal(refused.value.limit).text
    assert len(sandbox.requests) == 1


async def test_members_without_account_share_one_anonymous_vote(
    services: Services, sandbox: SandboxTracker, db: Storage, demo, ledger_location: Location
) -> None:
    await add_link(services, demo.link_token)
    first = await services.voting.vote(member(3), THE_LINK, VoteType.ADD)
    assert first.anonymous is True
    assert sandbox.requests[-1].bearer is None

    with pytest.raises(VoteLimited) as refused:
        await services.voting.vote(member(4), THE_LINK, VoteType.ADD)
    assert refused.value.limit.anonymous is True
    assert "share one vote on" in limit_refusal(refused.value.limit).text
    assert limit_refusal(refused.value.limit).params["hint"] == CONNECT_HINT
    assert len(sandbox.requests) == 1
    (entry,) = recent_calls(ledger_location, GUILD)
    assert (entry.user_id, entry.anonymous) == (3, True)


async def test_link_for_connected_accounts_only_refuses_anonymous_voters(
    services: Services, sandbox: SandboxTracker, demo
) -> None:
    await add_link(services, demo.link_token, anonymous=False)
    with pytest.raises(
        NotConnected, match="Only members with a connected account can vote"
    ) as refused:
        await services.voting.vote(member(3), THE_LINK, VoteType.ADD)
    assert refused.value.message.params["hint"] == CONNECT_HINT
    assert sandbox.requests == []


async def test_double_click_sends_one_request(
    services: Services, sandbox: SandboxTracker, demo
) -> None:
    await add_link(services, demo.link_token)
    await services.accounts.connect(member(2), demo.voter_token, "")
    sandbox.gate = asyncio.Event()
    first = asyncio.create_task(services.voting.vote(member(2), THE_LINK, VoteType.ADD))
    await sandbox.wait_for_requests(1)

    with pytest.raises(AlreadyInProgress):
        await services.voting.vote(member(2), THE_LINK, VoteType.ADD)
    sandbox.gate.set()
    await first
    assert len(sandbox.requests) == 1


async def test_a_call_beyond_the_limit_waits_for_a_slot_before_its_ledger_row(
    db: Storage, sandbox: SandboxTracker, ledger_location: Location
) -> None:
    caller = GameCaller(db, sandbox.now, max_calls=1)
    release, started = asyncio.Event(), asyncio.Event()

    async def gated() -> LuckResult:
        started.set()
        await release.wait()
        return LuckResult.model_validate({"operation": "ADD", "seconds": 60})

    def luck(user_id: int) -> NewCall:
        return NewCall(user_id, GUILD, CHANNEL, None, 7, "luck", False, None, False)

    first = asyncio.create_task(caller.call(luck(1), gated, busy="busy"))
    second = asyncio.create_task(caller.call(luck(2), gated, busy="busy"))
    await started.wait()  # the first is sent; the second met the limit
    await db.vote_count(2)  # a statement queued behind any row the second could have written
    assert len(calls(ledger_location)) == 1
    release.set()
    await asyncio.gather(first, second)
    older, newer = calls(ledger_location, LedgerStatus.PLAYED)
    assert older.finished_at is not None
    assert newer.created_at >= older.finished_at


async def test_owner_voting_on_own_link_is_a_penalty_in_result_and_ledger(
    services: Services, db: Storage, demo, ledger_location: Location
) -> None:
    await add_link(services, demo.link_token)
    await services.accounts.connect(member(5), demo.owner_token, str(demo.session_id))

    outcome = await services.voting.vote(member(5), THE_LINK, VoteType.SUB)

    assert outcome.result.penalty is True
    assert outcome.result.operation is Operation.ADD
    (entry,) = recent_calls(ledger_location, GUILD)
    assert entry.penalty is True
    assert entry.status is LedgerStatus.PLAYED


async def test_lost_answer_is_unknown_in_the_ledger_and_still_counts_for_the_limit(
    services: Services, sandbox: SandboxTracker, db: Storage, demo, ledger_location: Location
) -> None:
    await add_link(services, demo.link_token)
    await services.accounts.connect(member(2), demo.voter_token, "")
    sandbox.queue_fault(Fault.drop(apply_game=True))

    with pytest.raises(errors.OutcomeUnknown):
        await services.voting.vote(member(2), THE_LINK, VoteType.ADD)
    (entry,) = recent_calls(ledger_location, GUILD)
    assert entry.status is LedgerStatus.UNKNOWN
    with pytest.raises(VoteLimited):
        await services.voting.vote(member(2), THE_LINK, VoteType.ADD)
    assert len(sandbox.requests) == 1


async def test_rejected_token_marks_the_account_and_stops_further_calls(
    services: Services, sandbox: SandboxTracker, db: Storage, demo, ledger_location: Location
) -> None:
    await add_link(services, demo.link_token)
    await services.accounts.connect(member(2), "not-a-real-token", "")

    with pytest.raises(errors.Unauthorized):
        await services.voting.vote(member(2), THE_LINK, VoteType.ADD)
    assert (await db.get_account(2)).token_rejected is True
    (entry,) = recent_calls(ledger_location, GUILD)
    assert (entry.status, entry.reason) == (LedgerStatus.REFUSED, "unauthorized")
    with pytest.raises(NotConnected, match="rejected"):
        await services.voting.vote(member(2), THE_LINK, VoteType.ADD)
    assert len(sandbox.requests) == 1


async def test_voter_role_is_required_when_set(
    services: Services, sandbox: SandboxTracker, demo
) -> None:
    await add_link(services, demo.link_token)
    await services.links.set_voter_role(MODERATOR, 77, GUILD)
    with pytest.raises(NotAllowed, match="role may vote") as refused:
        await services.voting.vote(member(3), THE_LINK, VoteType.ADD)
    assert refused.value.message.params["role"] == Role(77)
    assert sandbox.requests == []
    await services.voting.vote(member(3, 77), THE_LINK, VoteType.ADD)
    assert len(sandbox.requests) == 1


async def test_link_resolution_by_channel_and_name(
    services: Services, sandbox: SandboxTracker, demo
) -> None:
    with pytest.raises(LinkNotResolved, match="no link"):
        await services.voting.vote(member(3), THE_LINK, VoteType.ADD)
    await add_link(services, demo.link_token, name="Alpha")
    beta = sandbox.add_session(sandbox.add_user()).link_token
    await add_link(services, beta, name="beta")
    with pytest.raises(LinkNotResolved, match="several links"):
        await services.voting.vote(member(3), THE_LINK, VoteType.ADD)
    outcome = await services.voting.vote(member(3), LinkByName(" BETA "), VoteType.ADD)
    assert isinstance(outcome, VoteOutcome)
    assert outcome.link.name == "beta"
    with pytest.raises(LinkNotResolved, match="no link named") as refused:
        await services.voting.vote(member(3), LinkByName("gamma"), VoteType.ADD)
    assert refused.value.message.params["names"] == Names(("alpha", "beta"))
    assert await services.voting.link_names(member(3), "a") == ["alpha"]


async def test_voting_in_a_dm_is_refused(services: Services) -> None:
    with pytest.raises(NotAllowed, match="server channel"):
        await services.voting.vote(Actor(user_id=3), THE_LINK, VoteType.ADD)


async def test_moderation_needs_manage_server_and_a_channel_of_this_server(
    services: Services, db: Storage, demo
) -> None:
    with pytest.raises(NotAllowed, match="Manage Server"):
        await services.links.add(member(3), LinkRequest(demo.link_token, None, None))
    elsewhere = ChannelChoice(
        id=99,
        guild_id=None,
        takes_messages=True,
        member_can_view=True,
        member_can_post=True,
        bot_lacks=frozenset(),
    )
    with pytest.raises(NotAllowed, match="not in this server"):
        await services.links.add(MODERATOR, LinkRequest(demo.link_token, None, elsewhere))
    with pytest.raises(NotAllowed, match="not in this server"):
        await services.links.set_voter_role(MODERATOR, 5, 999)
    assert await db.links_in_guild(GUILD) == []
    assert (await db.guild_settings(GUILD)).voter_role_id is None


@pytest.mark.parametrize("token", ["", "   ", "two words", "x" * 600, "tökén", "a\x00b"])
async def test_bad_link_tokens_are_refused_before_storing(
    services: Services, db: Storage, token: str
) -> None:
    with pytest.raises(BadInput):
        await add_link(services, token)
    assert await db.links_in_guild(GUILD) == []


def another_token(sandbox: SandboxTracker) -> str:
    return sandbox.add_session(sandbox.add_user()).link_token


async def test_link_names_are_normalised_and_unique_per_channel(
    services: Services, demo, sandbox: SandboxTracker
) -> None:
    first = await add_link(services, demo.link_token)
    second = await add_link(services, another_token(sandbox))
    assert (first.name, second.name) == ("link", "link-2")
    with pytest.raises(BadInput, match="already has a link named") as refused:
        await add_link(services, another_token(sandbox), name="LINK")
    assert refused.value.message.params["name"] == Name("link")
    with pytest.raises(BadInput, match="1 to 32 characters"):
        await add_link(services, another_token(sandbox), name="@everyone")


async def test_a_token_is_bound_once_per_server(services: Services, demo, db: Storage) -> None:
    await add_link(services, demo.link_token, name="first")

    with pytest.raises(BadInput, match="already set up in this server") as refused:
        await add_link(services, f" {demo.link_token} ", name="second")

    assert refused.value.message.params["link"] == Name("first")
    assert [link.name for link in await db.links_in_guild(GUILD)] == ["first"]


async def test_dice_uses_the_saved_default_session_and_the_owners_token(
    services: Services, sandbox: SandboxTracker, db: Storage, demo, ledger_location: Location
) -> None:
    await services.accounts.connect(member(5), demo.owner_token, f" {demo.session_id} ")
    outcome = await services.games.play(member(5), Game.DICE, None, as_dom=False)

    sent = sandbox.requests[-1]
    assert sent.body == {"game": "dice", "dom": 0, "session": demo.session_id}
    assert sent.bearer == demo.owner_token
    assert outcome.session_id == demo.session_id
    (entry,) = recent_calls(ledger_location, GUILD)
    assert (entry.game, entry.dom, entry.status) == ("dice", False, LedgerStatus.PLAYED)


async def test_dom_games_send_dom_1_and_a_non_dom_is_refused_by_the_tracker(
    services: Services, sandbox: SandboxTracker, db: Storage, demo, ledger_location: Location
) -> None:
    await services.accounts.connect(member(6), demo.dom_token, "")
    await services.games.dom_link(member(6), demo.session_id, VoteType.SUB)
    assert sandbox.requests[-1].body == {
        "game": "link",
        "dom": 1,
        "session": demo.session_id,
        "type": "sub",
    }
    await services.accounts.connect(member(2), demo.voter_token, "")
    with pytest.raises(errors.Forbidden):
        await services.games.play(member(2), Game.LUCK, demo.session_id, as_dom=True)
    latest = (recent_calls(ledger_location, GUILD))[0]
    assert (latest.status, latest.reason) == (LedgerStatus.REFUSED, "forbidden")


async def test_games_need_an_account_and_a_session(services: Services, sandbox) -> None:
    with pytest.raises(NotConnected):
        await services.games.play(member(2), Game.DICE, 5, as_dom=False)
    await services.accounts.connect(member(2), "some-token", "")
    with pytest.raises(BadInput, match="default session"):
        await services.games.play(member(2), Game.DICE, None, as_dom=False)
    assert sandbox.requests == []


@pytest.mark.parametrize("session", ["0", "-4", "abc", "1e3", "٣", "9" * 30])
async def test_bad_default_session_is_refused_and_nothing_stored(
    services: Services, db: Storage, session: str
) -> None:
    with pytest.raises(BadInput):
        await services.accounts.connect(member(2), "some-token", session)
    assert await db.get_account(2) is None


async def test_status_lists_when_each_link_reopens(
    services: Services, sandbox: SandboxTracker, demo
) -> None:
    link = await add_link(services, demo.link_token)
    await services.accounts.connect(member(2), demo.voter_token, "")
    await services.voting.vote(member(2), THE_LINK, VoteType.ADD)

    status = await services.accounts.status(member(2))
    assert status.votes_cast == 1
    (next_vote,) = status.next_votes
    assert next_vote.link.id == link.id
    assert next_vote.at is not None
    assert next_vote.at > sandbox.now() + timedelta(hours=23)
