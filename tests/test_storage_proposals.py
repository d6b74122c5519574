"""Proposed links on both backends: one open per member and server, closed exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr

from storage.errors import ProposalOpen
from storage.interface import Storage
from storage.models import NewProposal, VoteInterval
from tests.conftest import StoredBytes
from tests.helpers_storage import CHANNEL, GUILD, NOW, USER

TOKEN = "proposed-link-token-0042"


def proposal(proposer_id: int = USER, guild_id: int = GUILD) -> NewProposal:
    return NewProposal(
        guild_id=guild_id,
        channel_id=CHANNEL,
        proposer_id=proposer_id,
        name="main",
        link_token=SecretStr(TOKEN),
        interval=VoteInterval.ONCE,
        anonymous_allowed=False,
        proposer_locale="de",
        guild_locale="fr",
    )


async def test_a_proposal_is_stored_with_its_settings_and_its_message(db: Storage) -> None:
    added = await db.add_proposal(proposal(), now=NOW)
    await db.set_proposal_message(added.id, 900, 901)

    found = await db.get_proposal(added.id)

    assert found is not None
    assert (found.guild_id, found.channel_id, found.proposer_id) == (GUILD, CHANNEL, USER)
    assert (found.name, found.interval, found.anonymous_allowed) == (
        "main",
        VoteInterval.ONCE,
        False,
    )
    assert found.link_token.get_secret_value() == TOKEN
    assert (found.proposer_locale, found.guild_locale) == ("de", "fr")
    assert (found.created_at, found.log_channel_id, found.message_id) == (NOW, 900, 901)
    assert TOKEN not in repr(found)


async def test_one_open_proposal_per_member_and_server(db: Storage) -> None:
    await db.add_proposal(proposal(), now=NOW)

    with pytest.raises(ProposalOpen):
        await db.add_proposal(proposal(), now=NOW)
    await db.add_proposal(proposal(proposer_id=USER + 1), now=NOW)
    await db.add_proposal(proposal(guild_id=GUILD + 1), now=NOW)


async def test_a_proposal_is_taken_once_and_frees_the_member(db: Storage) -> None:
    added = await db.add_proposal(proposal(), now=NOW)

    taken = await db.take_proposal(added.id)
    again = await db.take_proposal(added.id)

    assert taken is not None
    assert taken.id == added.id
    assert again is None
    assert await db.get_proposal(added.id) is None
    await db.add_proposal(proposal(), now=NOW)


async def test_old_proposals_are_found_oldest_first(db: Storage) -> None:
    old = await db.add_proposal(proposal(), now=NOW - timedelta(days=8))
    older = await db.add_proposal(proposal(USER + 1), now=NOW - timedelta(days=9))
    await db.add_proposal(proposal(USER + 2), now=NOW - timedelta(days=6))

    found = await db.proposals_created_before(NOW - timedelta(days=7))

    assert [each.id for each in found] == [older.id, old.id]


async def test_the_token_is_stored_encrypted(db: Storage, stored_bytes: StoredBytes) -> None:
    await db.add_proposal(proposal(), now=NOW)

    assert TOKEN.encode() not in await stored_bytes()
