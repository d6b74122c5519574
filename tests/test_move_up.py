"""Moving a SQLite database to PostgreSQL: same rows, tokens decrypt, votes still limit."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from storage.errors import VoteAlreadyCounted
from storage.models import LedgerStatus, NewLink, NewProposal, PlayedResult, VoteInterval
from storage.move_up import TABLES, MoveRefused, move_up
from storage.postgres.database import PostgresDatabase
from storage.sqlite.database import Database
from tests.bot_world import ROOT, bot_environment
from tests.helpers_ledger import calls, recent_calls
from tests.helpers_storage import CHANNEL, GUILD, NOW, USER, vote
from tests.postgres_server import PostgresServer

PLAYED = PlayedResult("ADD", 60, 1.5, False, NOW + timedelta(days=2), 7)
DAY_AGO = NOW - timedelta(hours=24)


async def fill(path: Path, key: bytes) -> dict[str, object]:
    """A database as months of use leave it: accounts, links (one removed), every kind of call."""
    async with Database.connect(path, key, now=NOW) as db:
        for n in range(3):
            await db.save_account(USER + n, f"api-token-{n}", 40 + n, now=NOW)
        await db.mark_token_rejected(USER + 2)
        gone = await db.add_link(
            NewLink(
                guild_id=GUILD,
                channel_id=CHANNEL,
                name="gone",
                link_token=SecretStr("t0"),
                added_by=1,
            ),
            now=NOW,
        )
        await db.remove_link(GUILD, CHANNEL, "gone")
        link = await db.add_link(
            NewLink(
                guild_id=GUILD,
                channel_id=CHANNEL,
                name="main",
                link_token=SecretStr("link-token-1"),
                interval=VoteInterval.ONCE,
                anonymous_allowed=False,
                added_by=1,
            ),
            now=NOW,
        )
        await db.set_voter_role(GUILD, 55)
        await db.set_log_channel(GUILD, 66)
        played = await db.begin_call(vote(link.id), now=NOW - timedelta(hours=1))
        await db.finish_played(played, PLAYED, now=NOW)
        refused = await db.begin_call(vote(link.id, user_id=USER + 1), now=NOW)
        await db.finish_refused(refused, "cooldown", "wait", now=NOW)
        unknown = await db.begin_call(vote(None, game="dice"), now=NOW)
        await db.finish_unknown(unknown, "timeout", now=NOW)
        await db.add_card(link.id, CHANNEL, 999, now=NOW)
        await db.subscribe_reminders(USER, now=NOW)
        await db.mark_reminded(played, delivered=True, now=NOW)
        await db.set_meta("synced_commands:1:global", "abc")
        await db.set_name_hidden(USER + 1, True)
        await db.set_retention(GUILD, 90)
        proposal = await db.add_proposal(
            NewProposal(
                guild_id=GUILD,
                channel_id=CHANNEL,
                proposer_id=USER,
                name=None,
                link_token=SecretStr("proposed-token"),
                interval=VoteInterval.DAILY,
                anonymous_allowed=True,
            ),
            now=NOW,
        )
        await db.set_proposal_message(proposal.id, 66, 1000)
        return {
            "proposal": await db.get_proposal(proposal.id),
            "link": link,
            "gone": gone.id,
            "ledger": recent_calls(path, GUILD),
            "tally": await db.link_tally(link.id, day_start=DAY_AGO),
        }


async def test_everything_moves_and_still_works(tmp_path: Path, postgres: PostgresServer) -> None:
    key, path = Fernet.generate_key(), tmp_path / "bot.sqlite3"
    before = await fill(path, key)
    url = await postgres.new_database(migrated=False)

    report = await move_up(path, url, key)

    assert report.rows == {
        "meta": 3,  # the key check, the command sync digest, the log sync's mark
        "accounts": 3,
        "channel_links": 1,
        "guild_settings": 1,
        "ledger": 3,
        "link_days": 1,
        "link_totals": 1,
        "link_cards": 1,
        "reminder_subscribers": 1,
        "reminders_sent": 1,
        "card_refresh_claims": 0,
        "link_proposals": 1,
        "member_privacy": 1,
        "guild_retention": 1,
    }
    assert set(report.rows) == set(TABLES)
    assert report.tokens_checked == 5
    async with PostgresDatabase.connect(url, key) as db:
        assert db.recovered_at_open == 0
        accounts = [await db.get_account(USER + n) for n in range(3)]
        assert [a.api_token.get_secret_value() for a in accounts if a] == [
            "api-token-0",
            "api-token-1",
            "api-token-2",
        ]
        assert [a.token_rejected for a in accounts if a] == [False, False, True]
        assert await db.links_in_channel(GUILD, CHANNEL) == [before["link"]]
        settings = await db.guild_settings(GUILD)
        assert (settings.voter_role_id, settings.log_channel_id) == (55, 66)
        assert recent_calls(url, GUILD) == before["ledger"]
        assert await db.get_meta("synced_commands:1:global") == "abc"
        assert await db.link_tally(before["link"].id, day_start=DAY_AGO) == before["tally"]
        assert [card.message_id for card in await db.cards_of_link(before["link"].id)] == [999]
        assert await db.is_subscribed(USER)
        assert await db.get_proposal(before["proposal"].id) == before["proposal"]
        assert not await db.claim_reminder(before["ledger"][-1].id, now=NOW)  # already sent
        assert await db.hidden_names([USER, USER + 1]) == {USER + 1}
        assert await db.retention_days(GUILD) == 90

        # The member's vote still limits them; a new link never takes a removed link's id.
        with pytest.raises(VoteAlreadyCounted):
            await db.begin_call(vote(before["link"].id), now=NOW, limit_since=DAY_AGO)
        newer = await db.add_link(
            NewLink(
                guild_id=GUILD,
                channel_id=CHANNEL,
                name="new",
                link_token=SecretStr("t"),
                added_by=1,
            ),
            now=NOW,
        )
        assert newer.id > before["link"].id > before["gone"]
        entry_id = await db.begin_call(vote(newer.id), now=NOW)
        assert entry_id > max(entry.id for entry in before["ledger"])
        assert len(calls(url, LedgerStatus.PENDING)) == 1


async def test_a_database_with_data_is_never_written_to(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    key, path = Fernet.generate_key(), tmp_path / "bot.sqlite3"
    await fill(path, key)
    url = await postgres.new_database()
    async with PostgresDatabase.connect(url, key) as db:
        await db.set_voter_role(GUILD, 1)

    with pytest.raises(MoveRefused, match="already holds data"):
        await move_up(path, url, key)
    assert calls(url) == []


async def test_a_bot_still_running_on_the_file_stops_the_move(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    key, path = Fernet.generate_key(), tmp_path / "bot.sqlite3"
    await fill(path, key)
    url = await postgres.new_database(migrated=False)
    async with Database.connect(path, key):
        with pytest.raises(MoveRefused, match="stop it first"):
            await move_up(path, url, key)


async def test_the_command_moves_and_says_what_it_did(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    key, path = Fernet.generate_key(), tmp_path / "bot.sqlite3"
    await fill(path, key)
    url = await postgres.new_database(migrated=False)
    command = [sys.executable, "-m", "storage.move_up", "--from", str(path), "--to", url]
    env = bot_environment(TOKEN_KEY=key.decode())

    done = await asyncio.to_thread(run, command, env)
    assert done.returncode == 0, done.stderr
    assert "Row counts match; 5 tokens decrypt." in done.stdout
    assert key.decode() not in done.stdout + done.stderr

    again = await asyncio.to_thread(run, command, env)
    assert again.returncode == 1
    assert again.stderr.startswith("move_up: the PostgreSQL database already holds data")
    assert again.stderr.count("\n") == 1


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter running our module
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
