"""History and export end to end: what moderators and members read of the ledger."""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import re
import tempfile
from pathlib import Path

import pytest

from i18n.formats import MINUS, format_duration
from services.history import EXPORT_HEADER
from storage.models import LedgerStatus
from tests.bot_world import ALICE, BOB, GENERAL, MODERATOR, OWNER, BotWorld, public_result, refusal
from tests.fake_discord import Channel, Member, SentFile, SentMessage, slash
from tests.helpers_faults import connected_member, disk_full, new_member
from tracker.sandbox import Fault

OTHER_GUILD_ID = 810_000_000_000_000_201
OTHER_CHANNEL = Channel(810_000_000_000_000_210, "elsewhere", OTHER_GUILD_ID)
OTHER_MODERATOR = Member(
    820_000_000_000_000_201, "other-moderator", permissions=MODERATOR.permissions
)
FORMULA_NAME = '=HYPERLINK("x")'
TIMESTAMP = re.compile(r"<t:(\d+):f>")


def played_text(operation: str, seconds: int, multiplier: float) -> str:
    sign = "+" if operation == "ADD" else MINUS
    return f"{sign}{format_duration(seconds, 'en')} ×{multiplier:g}"


async def history(world: BotWorld, member: Member = MODERATOR, **options: object) -> SentMessage:
    answer = await world.answer("links", "history", member=member, name="link", **options)
    assert answer.ephemeral, answer
    assert (answer.allowed_mentions or {}).get("parse") == [], answer.allowed_mentions
    return answer


async def export(world: BotWorld, **payload_fields: object) -> SentMessage:
    payload = slash("links", "export", options={"name": "link"}, member=MODERATOR, channel=GENERAL)
    payload.update(payload_fields)
    answer = await (await world.run(payload)).final()
    assert answer.ephemeral, answer
    return answer


def csv_rows(file: SentFile) -> list[list[str]]:
    data = gzip.decompress(file.data) if file.filename.endswith(".gz") else file.data
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


async def five_kinds_of_call(world: BotWorld) -> None:
    """Identified, anonymous, penalty, refused and unknown: one call each, in this order."""
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    await public_result(await world.vote(ALICE, "add"))
    await public_result(await world.vote(BOB, "sub"))  # anonymous
    await world.connect(OWNER, world.demo.owner_token)  # no default session: no confirmation
    await public_result(await world.vote(OWNER, "rand"))  # the owner's own link: a penalty
    refused, _ = await connected_member(world, "refused")
    world.sandbox.queue_fault(Fault.not_ok_200())
    await refusal(await world.vote(refused, "add"))
    unknown, _ = await connected_member(world, "unknown")
    world.sandbox.queue_fault(Fault.json_500())
    await refusal(await world.vote(unknown, "sub"))
    statuses = [entry.status for entry in await world.ledger()]
    assert statuses == [
        LedgerStatus.UNKNOWN,
        LedgerStatus.REFUSED,
        LedgerStatus.PLAYED,
        LedgerStatus.PLAYED,
        LedgerStatus.PLAYED,
    ]


async def test_history_shows_each_call_as_the_tracker_received_it_newest_first(
    world: BotWorld,
) -> None:
    await five_kinds_of_call(world)
    alice_played, bob_played, penalty = world.sandbox.histories
    ledger = await world.ledger()

    lines = (await history(world)).content.split("\n")

    assert lines[0] == "Latest votes on link `link`, newest first:"
    assert len(lines) == 6
    unknown, refused, owner, bob, alice = lines[1:]
    assert unknown.endswith(" · `sub` · unknown"), unknown
    assert f"<@{ledger[0].user_id}>" in unknown
    assert refused.endswith(" · `add` · refused by the tracker"), refused
    assert ledger[1].message
    assert ledger[1].message not in refused  # the tracker's own English stays in the ledger
    assert owner.endswith(
        f" · <@{OWNER.id}> · `rand` · penalty "
        + played_text(penalty.operation, penalty.seconds, penalty.multiplier)
    ), owner
    assert bob.endswith(
        " · shared vote · `sub` · "
        + played_text(bob_played.operation, bob_played.seconds, bob_played.multiplier)
    ), bob
    assert str(BOB.id) not in bob
    assert alice.endswith(
        f" · <@{ALICE.id}> · `add` · "
        + played_text(alice_played.operation, alice_played.seconds, alice_played.multiplier)
    ), alice
    times = [int(TIMESTAMP.match(line)[1]) for line in lines[1:]]
    assert times == [int(entry.created_at.timestamp()) for entry in ledger]


async def test_history_count_limits_the_lines(world: BotWorld) -> None:
    await five_kinds_of_call(world)

    lines = (await history(world, count=2)).content.split("\n")

    assert len(lines) == 3
    assert lines[1].endswith("unknown")
    assert "refused" in lines[2]


async def test_export_has_the_header_one_row_per_call_oldest_first_and_safe_cells(
    world: BotWorld,
) -> None:
    await world.add_link()
    named = new_member("named", nick=FORMULA_NAME)
    await world.connect(named, world.sandbox.add_user().api_token)
    await public_result(await world.vote(named, "add"))
    await public_result(await world.vote(BOB, "sub"))
    refused, _ = await connected_member(world, "refused")
    world.sandbox.queue_fault(Fault.not_ok_200())
    await refusal(await world.vote(refused, "rand"))
    ledger = list(reversed(await world.ledger()))

    answer = await export(world)

    (file,) = answer.files
    assert file.filename == "link-votes.csv"
    assert "3 votes" in answer.content
    assert b"\r\n" in file.data  # RFC 4180 line ends
    header, *rows = csv_rows(file)
    assert tuple(header) == EXPORT_HEADER
    assert len(rows) == len(ledger) == 3
    named_row, anonymous_row, refused_row = (dict(zip(header, row, strict=True)) for row in rows)
    first, second = world.sandbox.histories
    assert named_row == {
        "time_utc": ledger[0].created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "voter_id": str(named.id),
        "voter_name": "'" + FORMULA_NAME,
        "game": "link",
        "type": "add",
        "outcome": "played",
        "operation": first.operation,
        "seconds": str(first.seconds),
        "multiplier": str(first.multiplier),
        "penalty": "0",
        "scheduled_end_utc": ledger[0].scheduled_end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert anonymous_row["voter_id"] == anonymous_row["voter_name"] == ""
    assert (anonymous_row["outcome"], anonymous_row["operation"]) == ("played", second.operation)
    assert refused_row["outcome"] == "refused"
    assert refused_row["operation"] == refused_row["seconds"] == refused_row["multiplier"] == ""
    assert refused_row["scheduled_end_utc"] == ""


async def test_an_export_above_the_upload_limit_is_gzipped(world: BotWorld) -> None:
    await five_kinds_of_call(world)
    plain = (await export(world)).files[0]

    answer = await export(world, attachment_size_limit=len(plain.data) - 1)

    (file,) = answer.files
    assert file.filename == "link-votes.csv.gz"
    assert "compressed" in answer.content
    assert csv_rows(file) == csv_rows(plain)


async def test_an_export_too_large_even_compressed_says_so(world: BotWorld) -> None:
    await five_kinds_of_call(world)

    answer = await export(world, attachment_size_limit=10)

    assert answer.files == ()
    assert answer.content == "The export of link `link` is too large for Discord, even compressed."


async def emptied(folder: Path) -> None:
    """The export's temporary folder goes just after its answer was sent."""
    async with asyncio.timeout(10):
        while True:
            if not await asyncio.to_thread(lambda: list(folder.iterdir())):
                return
            await asyncio.sleep(0.02)


@pytest.fixture
def export_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the bot's temporary files go in this test, so what it leaves behind is seen."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


async def test_an_export_never_writes_a_file_larger_than_the_upload_limit(
    world: BotWorld, export_folder: Path
) -> None:
    """The CSV is streamed through gzip once it outgrows the limit: disk room for the limit is
    enough, however large the plain CSV would be."""
    await five_kinds_of_call(world)
    plain = (await export(world)).files[0]
    limit = len(plain.data) - 1

    with disk_full(room=limit):
        answer = await export(world, attachment_size_limit=limit)

    (file,) = answer.files
    assert file.filename == "link-votes.csv.gz"
    assert csv_rows(file) == csv_rows(plain)
    await emptied(export_folder)


async def test_an_export_on_a_full_disk_is_one_private_sentence(
    world: BotWorld, export_folder: Path
) -> None:
    await five_kinds_of_call(world)

    with disk_full():
        answer = await export(world)

    assert answer.files == ()
    assert answer.content == (
        "The export could not be written: the bot's server has no disk space left for it. "
        "Tell whoever runs the bot."
    )
    await emptied(export_folder)


async def test_a_link_without_calls_answers_in_one_sentence(world: BotWorld) -> None:
    await world.add_link()

    assert (await history(world)).content == "Link `link` has no votes yet."
    answer = await export(world)
    assert answer.content == "Link `link` has no votes yet: there is nothing to export."
    assert answer.files == ()


@pytest.mark.parametrize("command", ["history", "export"])
async def test_members_cannot_read_a_links_history(world: BotWorld, command: str) -> None:
    await five_kinds_of_call(world)

    answer = await refusal(await world.command("links", command, member=ALICE, name="link"))

    assert "Manage Server" in answer.content
    assert answer.files == ()


@pytest.mark.parametrize("command", ["history", "export"])
async def test_another_servers_moderator_cannot_read_our_links(
    world: BotWorld, command: str
) -> None:
    await world.stop()
    world.fake.add_guild(OTHER_GUILD_ID, "Other server", [OTHER_CHANNEL], [])
    await world.start()
    await five_kinds_of_call(world)

    exchange = await world.run(
        slash(
            "links",
            command,
            options={"name": "link", "channel": GENERAL},
            member=OTHER_MODERATOR,
            channel=OTHER_CHANNEL,
        )
    )

    answer = await refusal(exchange)
    assert answer.content == "That channel is not in this server."
    assert answer.files == ()


async def test_account_history_shows_only_the_members_own_calls(world: BotWorld) -> None:
    await five_kinds_of_call(world)
    played = world.sandbox.histories[0]

    answer = await world.answer("account", "history", member=ALICE)

    assert answer.ephemeral
    lines = answer.content.split("\n")
    assert lines[0] == "Your latest votes and games, newest first:"
    assert len(lines) == 2
    assert lines[1].endswith(
        " · vote `add` on link `link` · "
        + played_text(played.operation, played.seconds, played.multiplier)
    ), lines[1]
    nothing = await world.answer("account", "history", member=new_member("quiet"))
    assert nothing.content == "You have not voted or played through this bot yet."
    assert str(BOB.id) not in answer.content
