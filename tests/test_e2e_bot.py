"""The bot as a whole: its commands and their sync, its error handler, `python bot.py --sandbox`."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.bot_world import (
    ALICE,
    BOT_SCRIPT,
    GENERAL,
    GUILD_ID,
    MODERATOR,
    BotWorld,
    bot_environment,
    public_result,
    refusal,
)
from tests.fake_discord import MANAGE_GUILD, FakeDiscord, slash

JSON = dict[str, Any]
# Issue 4's and issue 13's commands, each leaf with its options in order.
COMMAND_TREE: JSON = {
    "vote": {"add": ["link"], "sub": ["link"], "rand": ["link"]},
    "dice": ["session"],
    "luck": ["session"],
    "dom": {"dice": ["session"], "luck": ["session"], "link": ["session", "type"]},
    "account": {
        "connect": [],
        "disconnect": [],
        "status": [],
        "history": [],
        "forget": [],
        "data": [],
        "privacy": ["announce"],
    },
    "links": {
        "add": ["token", "name", "channel", "interval", "anonymous"],
        "card": ["name", "channel"],
        "remove": ["name", "channel"],
        "history": ["name", "count", "channel"],
        "export": ["name", "channel"],
        "list": [],
    },
    "stats": ["link", "period"],
    "propose": ["token", "name", "interval", "anonymous"],
    "config": {
        "language": ["language"],
        "voter-role": ["role"],
        "log-channel": ["channel"],
        "retention": ["days"],
    },
    "remind": {"on": [], "off": []},
    "help": ["topic"],
}
SUBCOMMAND = 1
DEFERRED_MESSAGE = 5
EPHEMERAL = 64
STARTUP_TIMEOUT = 30.0


def tree(options: list[JSON]) -> JSON | list[str]:
    """Subcommands as a nested dict, a leaf as its option names."""
    if options and all(option["type"] == SUBCOMMAND for option in options):
        return {option["name"]: tree(option.get("options", [])) for option in options}
    return [option["name"] for option in options]


def leaf(commands: list[JSON], *path: str) -> JSON:
    """A synced command or subcommand by its path, e.g. ("dom", "link")."""
    found: JSON = {"options": commands}
    for name in path:
        found = next(option for option in found["options"] if option["name"] == name)
    return found


# Command sync


async def test_commands_are_synced_once_to_the_dev_guild_with_the_whole_tree(
    world: BotWorld,
) -> None:
    synced = world.fake.synced_commands(GUILD_ID)

    assert {command["name"]: tree(command.get("options", [])) for command in synced} == (
        COMMAND_TREE
    )
    assert world.fake.sync_count(GUILD_ID) == 1
    assert world.fake.sync_count() == 0
    assert world.fake.synced_commands() == []


async def test_synced_options_and_permissions_match_the_issue(world: BotWorld) -> None:
    synced = world.fake.synced_commands(GUILD_ID)

    for name in ("links", "config"):
        assert int(leaf(synced, name)["default_member_permissions"]) == MANAGE_GUILD
    link_option = leaf(synced, "vote", "add", "link")
    assert link_option["autocomplete"] is True
    assert not link_option.get("required")
    assert not leaf(synced, "dice", "session").get("required")
    assert leaf(synced, "dom", "dice", "session")["required"] is True
    vote_types = leaf(synced, "dom", "link", "type")["choices"]
    assert [choice["value"] for choice in vote_types] == ["add", "sub", "rand"]
    intervals = leaf(synced, "links", "add", "interval")["choices"]
    assert [choice["value"] for choice in intervals] == ["daily", "once"]
    assert leaf(synced, "links", "remove", "name")["autocomplete"] is True


async def test_a_restart_with_the_same_commands_does_not_sync_again(world: BotWorld) -> None:
    await world.restart()

    assert world.fake.sync_count(GUILD_ID) == 1
    assert world.fake.sync_count() == 0
    answer = await world.answer("account", "status", member=ALICE)
    assert "No tracker account is connected" in answer.content


async def test_moving_between_dev_guild_and_global_sync_leaves_commands_in_one_place(
    world: BotWorld,
) -> None:
    """Commands left in the old place would show every command twice to the members."""
    await world.stop()
    await world.start(dev_guild_id=None)

    synced = world.fake.synced_commands()
    assert {command["name"] for command in synced} == set(COMMAND_TREE)
    assert world.fake.synced_commands(GUILD_ID) == []

    await world.stop()
    await world.start(dev_guild_id=GUILD_ID)

    assert world.fake.synced_commands() == []
    names = {command["name"] for command in world.fake.synced_commands(GUILD_ID)}
    assert names == set(COMMAND_TREE)


# The one error handler


@contextmanager
def links_table_renamed_by_another_program(path: Path) -> Iterator[None]:
    """Someone edits the schema under the running bot, as a sqlite3 shell can."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("ALTER TABLE channel_links RENAME TO channel_links_moved")
        yield
    finally:
        other.execute("ALTER TABLE channel_links_moved RENAME TO channel_links")
        other.close()


@pytest.mark.sqlite_only
async def test_an_unexpected_error_gets_an_apology_with_a_logged_reference(
    world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """A table gone from under the bot: nothing in our rules expects that.

    (A full disk or a lock held elsewhere is expected: see test_e2e_faults.py.)
    """
    await world.add_link()

    with links_table_renamed_by_another_program(world.settings.database_path):
        answer = await refusal(await world.vote(ALICE))

    found = re.search(
        r"give this reference to whoever runs the bot: `([0-9a-f]{8})`\.$", answer.content
    )
    assert found is not None, answer.content
    assert answer.content.startswith("Sorry")
    reference = found.group(1)
    (logged,) = [r for r in caplog.records if reference in r.getMessage()]
    assert logged.levelno == logging.ERROR
    assert logged.exc_info is not None
    assert world.sandbox.requests == []

    await public_result(await world.vote(ALICE))  # the bot keeps running


# python bot.py --sandbox


async def read_link_token(stream: asyncio.StreamReader) -> str:
    """Read the bot's output line by line until it names the sandbox's demo link token."""
    seen = []
    while line := (await stream.readline()).decode():
        seen.append(line)
        if found := re.match(r"\s*link token:\s+(\S+)\s*$", line):
            return found.group(1)
    raise AssertionError(f"the bot's output ended without a link token: {seen}")


async def test_bot_py_sandbox_plays_against_its_own_tracker(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        fake.add_guild(GUILD_ID, "Test server", channels=[GENERAL])
        env = bot_environment(
            DISCORD_TOKEN=fake.token,
            DISCORD_API_URL=fake.api_base,
            DISCORD_GATEWAY_URL=fake.gateway_url,
            DEV_GUILD_ID=str(GUILD_ID),
            DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BOT_SCRIPT),
            "--sandbox",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        log = asyncio.create_task(process.stderr.read())
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT):
                link_token = await read_link_token(process.stdout)
            await fake.wait_for_sync(GUILD_ID, within=STARTUP_TIMEOUT)

            add = slash(
                "links", "add", options={"token": link_token}, member=MODERATOR, channel=GENERAL
            )
            added = await (await fake.interact(add)).final()
            assert "Link added" in added.content
            voted = await fake.interact(slash("vote", "add", member=ALICE, channel=GENERAL))
            announced = await public_result(voted)
            assert f"<@{ALICE.id}> voted with the channel's shared vote" in announced.content
            assert "<t:" in announced.content
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
            async with asyncio.timeout(STARTUP_TIMEOUT):
                returncode = await process.wait()
                stderr = (await log).decode()
        assert returncode == 0, stderr
        assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize(
    "command",
    [
        ("vote", "add"),
        ("dice",),
        ("account", "status"),
        ("account", "disconnect"),
        ("links", "list"),
        ("config", "voter-role"),
        ("remind", "on"),
    ],
)
async def test_every_command_is_acknowledged_privately_before_it_runs(
    world: BotWorld, command: tuple[str, ...]
) -> None:
    """A private deferral comes first, so a slow database or tracker never misses Discord's 3 s."""
    exchange = await world.command(*command, member=MODERATOR)
    callback = await exchange.acknowledged()
    assert callback.type == DEFERRED_MESSAGE
    assert callback.data["flags"] & EPHEMERAL
    assert (await exchange.final()).ephemeral
