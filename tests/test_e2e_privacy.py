"""Privacy end to end: forgetting a member, their data, names in public, and retention.

The real bot in the fake Discord, with the tracker sandbox, on both backends.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import timedelta

import pytest

from storage.models import NewCall
from tests.bot_world import (
    BOB,
    GENERAL,
    MODERATOR,
    BotWorld,
    public_result,
)
from tests.fake_discord import Exchange, Member, SentMessage, User, button_click, slash
from tests.helpers_faults import new_member
from tests.helpers_storage import file_bytes, raw_query

FORGOTTEN = "the bot has forgotten you"


def dm(member: Member) -> User:
    return member.user


async def press(
    world: BotWorld, message: SentMessage, label: str, *, member: Member, in_dm: bool = False
) -> Exchange:
    (custom_id,) = [
        button["custom_id"]
        for row in message.components
        for button in row["components"]
        if button["label"].startswith(label)
    ]
    where = {"user": dm(member)} if in_dm else {"member": member, "channel": GENERAL}
    return await world.run(button_click(custom_id, message_id=message.id, **where))


async def forget(world: BotWorld, member: Member, *, in_dm: bool = False) -> SentMessage:
    """Ask, see the question privately, confirm; the final private answer."""
    payload = (
        slash("account", "forget", user=dm(member))
        if in_dm
        else slash("account", "forget", member=member, channel=GENERAL)
    )
    asked = await world.run(payload)
    question = await asked.wait_for_message(lambda m: bool(m.components))
    assert question.ephemeral
    assert "cannot be undone" in question.content
    confirmed = await press(world, question, "Confirm", member=member, in_dm=in_dm)
    answer = await confirmed.final()
    assert answer.ephemeral
    return answer


async def player_with_a_session(world: BotWorld, name: str) -> tuple[Member, str, int]:
    """A new member connected with a tracker account that owns a session of its own."""
    member = new_member(name)
    user = world.sandbox.add_user()
    session = world.sandbox.add_session(user)
    await world.connect(member, user.api_token, str(session.id))
    return member, user.api_token, session.id


async def votes_on_two_links_and_a_game(world: BotWorld, member: Member) -> None:
    await world.add_link()
    await world.add_link(world.new_link_token(), name="second")
    await public_result(await world.vote(member, link="link"))
    await public_result(await world.vote(member, "sub", link="second"))
    await public_result(await world.command("dice", member=member))
    await public_result(await world.vote(BOB, link="link"))  # anonymous, someone else's


def field(answer: SentMessage, name: str) -> str:
    (embed,) = answer.embeds
    return next(f["value"] for f in embed["fields"] if f["name"] == name)


async def export_rows(world: BotWorld) -> list[list[str]]:
    answer = await world.answer("links", "export", member=MODERATOR, name="link")
    (file,) = answer.files
    return list(csv.reader(io.StringIO(file.data.decode("utf-8"), newline="")))


async def stats(world: BotWorld) -> dict[str, str]:
    """The link's figures, as a member who has not asked for a chart yet sees them."""
    answer = await world.answer("stats", member=new_member("reader"), link="link")
    return {name: field(answer, name) for name in ("Votes", "Time")}


async def until(condition: object, within: float = 5.0) -> None:
    """Poll a condition (an async callable) with a deadline, never a fixed sleep."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():  # type: ignore[operator]
        assert loop.time() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.02)


async def test_forgetting_keeps_every_figure_and_erases_the_member(world: BotWorld) -> None:
    member, _, _ = await player_with_a_session(world, "zephyr")
    await world.answer("remind", "on", member=member)
    await votes_on_two_links_and_a_game(world, member)
    rows_before, stats_before = await export_rows(world), await stats(world)
    assert any(row[1] == str(member.id) for row in rows_before)

    answer = await forget(world, member)

    assert FORGOTTEN in answer.content
    assert "The tracker keeps its own record" in answer.content
    assert "cannot erase" in answer.content
    history = await world.answer("links", "history", member=MODERATOR, name="link")
    assert f"<@{member.id}>" not in history.content
    assert "former member" in history.content
    rows_after = await export_rows(world)
    assert len(rows_after) == len(rows_before)
    assert str(member.id) not in json.dumps(rows_after)
    assert member.name not in json.dumps(rows_after)
    assert [row[1:3] for row in rows_after[1:]] == [["", ""], ["", ""]]  # theirs, then Bob's
    assert await stats(world) == stats_before
    status = await world.answer("account", "status", member=member)
    assert "No tracker account is connected" in status.content
    assert "Reminders when a link reopens: off" in status.content
    assert all(entry.user_id != member.id for entry in await world.ledger())
    assert len(await world.ledger()) == 4
    mine = await world.answer("account", "history", member=member)
    assert "You have not voted or played through this bot yet." in mine.content


@pytest.mark.sqlite_only
async def test_forgetting_leaves_no_token_ciphertext_and_no_name_in_the_file(
    world: BotWorld,
) -> None:
    member, token, _ = await player_with_a_session(world, "quillon")
    await world.add_link()
    await public_result(await world.vote(member))
    path = world.settings.database_path
    ((ciphertext,),) = raw_query(
        path, "SELECT api_token FROM accounts WHERE user_id = ?", (member.id,)
    )
    assert member.name.encode() in file_bytes(path)

    await forget(world, member)

    stored = file_bytes(path)
    assert bytes(ciphertext) not in stored
    assert token.encode() not in stored
    assert member.name.encode() not in stored
    assert raw_query(path, "SELECT count(*) FROM ledger WHERE user_id = ?", (member.id,)) == [(0,)]


async def test_forgetting_works_in_a_direct_message(world: BotWorld) -> None:
    member, _, _ = await player_with_a_session(world, "dmforget")
    await world.add_link()
    await public_result(await world.vote(member))

    answer = await forget(world, member, in_dm=True)

    assert FORGOTTEN in answer.content
    assert await world.db.get_account(member.id) is None
    assert all(entry.user_id != member.id for entry in await world.ledger())


async def test_forgetting_is_refused_while_a_call_is_under_way(world: BotWorld) -> None:
    member, _, session = await player_with_a_session(world, "busy")
    # A game of this member's that another process sent and is waiting for.
    call = NewCall(member.id, None, None, None, session, "dice", False, None, False)
    await world.db.begin_call(call, now=world.sandbox.now())

    answer = await forget(world, member)

    assert "on its way to the tracker" in answer.content
    assert "Nothing was erased." in answer.content
    assert await world.db.get_account(member.id) is not None


async def test_cancel_erases_nothing(world: BotWorld) -> None:
    member, _, _ = await player_with_a_session(world, "keeper")
    asked = await world.command("account", "forget", member=member)
    question = await asked.wait_for_message(lambda m: bool(m.components))
    cancelled = await press(world, question, "Cancel", member=member)
    assert (await cancelled.final()).content == "Nothing was erased."
    assert await world.db.get_account(member.id) is not None


async def test_account_data_holds_what_the_tracker_received(world: BotWorld) -> None:
    member, token, session = await player_with_a_session(world, "curious")
    await world.answer("remind", "on", member=member)
    await votes_on_two_links_and_a_game(world, member)

    answer = await world.answer("account", "data", member=member)

    assert answer.ephemeral
    (file,) = answer.files
    assert file.filename == f"ctvote-data-{member.id}.json"
    assert token.encode() not in file.data
    data = json.loads(file.data)
    assert data["member_id"] == str(member.id)
    assert data["account"]["default_session"] == session
    assert data["account"]["token_last_four"] == token[-4:]
    assert (data["reminders"], data["language"], data["name_in_public_results"]) == (
        True,
        "en-US",
        "shown",
    )
    sent = [request for request in world.sandbox.requests if request.bearer == token]
    assert len(data["calls"]) == len(sent) == 3
    for call, request in zip(data["calls"], sent, strict=True):
        assert request.body is not None
        assert call["game"] == request.body["game"]
        assert call["type"] == request.body.get("type")
        assert call["outcome"] == "played"
        assert call["server_id"] == str(GENERAL.guild_id)
    assert [call["link_name"] for call in data["calls"]] == ["link", "second", None]
    assert [call["display_name"] for call in data["calls"]] == [member.name, member.name, None]
    assert all(call["seconds"] and call["operation"] for call in data["calls"])


async def test_a_hidden_name_stays_out_of_results_and_the_card(world: BotWorld) -> None:
    member, _, _ = await player_with_a_session(world, "shy")
    await world.add_link()
    card = await world.fake.wait_for_channel_message(GENERAL.id, lambda m: bool(m.components))

    chosen = await world.answer("account", "privacy", member=member, announce="hidden")

    assert chosen.ephemeral
    assert "a member" in chosen.content
    assert "moderators' history and exports still name you" in chosen.content
    result = await public_result(await world.vote(member))
    assert result.content.startswith("🗳️ A member voted on link `link`: **+")
    assert str(member.id) not in result.content
    game = await public_result(await world.command("dice", member=member))
    assert game.content.startswith("A member played DICE")
    updated = await world.fake.wait_for_channel_message(
        GENERAL.id, lambda m: m.id == card.id and "1 vote" in field(m, "In total")
    )
    assert ", a member, " in field(updated, "Last result")
    history = await world.answer("links", "history", member=MODERATOR, name="link")
    assert f"<@{member.id}>" in history.content

    await world.answer("account", "privacy", member=member, announce="name")
    world.sandbox.advance(timedelta(hours=25))
    named = await public_result(await world.vote(member))
    assert named.content.startswith(f"🗳️ <@{member.id}> voted on link")


async def test_retention_clears_old_votes_now_and_at_start(world: BotWorld) -> None:
    await world.add_link()
    early, _, _ = await player_with_a_session(world, "early")
    await public_result(await world.vote(early))
    world.sandbox.advance(timedelta(days=31))
    later, _, _ = await player_with_a_session(world, "later")
    await public_result(await world.vote(later))
    listed = await world.answer("links", "list", member=MODERATOR)
    assert "Votes keep their voter's id and name" in listed.content

    answer = await world.answer("config", "retention", member=MODERATOR, days=30)

    assert answer.ephemeral
    assert "Votes older than 30 days now lose their voter's id and name: 1 did" in answer.content
    by_id = {entry.user_id for entry in await world.ledger()}
    assert early.id not in by_id
    assert later.id in by_id
    rows = await export_rows(world)
    assert len(rows) == 3
    assert rows[1][1:3] == ["", ""]
    assert rows[2][1:3] == [str(later.id), later.name]
    listed = await world.answer("links", "list", member=MODERATOR)
    assert "Votes lose their voter's id and name after 30 days" in listed.content

    # Applied again when the bot starts, whichever process claims it.
    world.sandbox.advance(timedelta(days=31))
    await world.restart()

    async def later_forgotten() -> bool:
        return all(entry.user_id is None for entry in await world.ledger())

    await until(later_forgotten)


async def test_retention_is_for_moderators_only(world: BotWorld) -> None:
    answer = await world.answer("config", "retention", member=BOB, days=1)
    assert "Manage Server" in answer.content
    assert await world.db.retention_days(GENERAL.guild_id) is None
