"""`ctvote check-config|rotate-keys|backup` and the start's refusals, as an operator runs them."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from storage.models import LedgerStatus
from storage.postgres.database import postgres_migrations
from storage.token_cipher import WRONG_KEY_MESSAGE
from tests.bot_world import BOT_SCRIPT, BotWorld, bot_environment, public_result
from tests.helpers_faults import connected_member, world_environment

CTVOTE = Path(sys.executable).parent / "ctvote"


def ctvote(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the project's own entry point
        [str(CTVOTE), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def stopped_env(world: BotWorld, **overrides: str) -> dict[str, str]:
    """The world's settings as the environment; the Discord URLs point nowhere useful."""
    return world_environment(world, **overrides)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    return folder


@pytest.mark.sqlite_only  # the SQLite file; PostgreSQL below
async def test_check_config_says_ok_without_touching_discord(
    world: BotWorld, workdir: Path
) -> None:
    identified = world.fake.gateway.identify_count
    done = await asyncio.to_thread(ctvote, workdir, "check-config", env=stopped_env(world))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "configuration ok"
    assert f"database {world.settings.database_path}: schema version" in done.stdout
    assert world.fake.gateway.identify_count == identified
    assert not (workdir / ".env").exists()


def test_check_config_on_a_fresh_machine_creates_nothing(workdir: Path) -> None:
    env = bot_environment(
        DISCORD_TOKEN="MTIz.check.token",
        DATABASE_PATH=str(workdir / "data" / "bot.sqlite3"),
        XDG_CONFIG_HOME=str(workdir / "config"),
    )
    done = ctvote(workdir, "check-config", env=env)
    assert done.returncode == 0, done.stderr
    assert "no token key yet: the first start creates" in done.stdout
    assert "no database yet: the first start creates" in done.stdout
    assert list(workdir.iterdir()) == []


@pytest.mark.sqlite_only  # the SQLite file; PostgreSQL below
async def test_check_config_reports_each_problem_in_one_line(
    world: BotWorld, workdir: Path
) -> None:
    bad_setting = await asyncio.to_thread(
        ctvote, workdir, "check-config", env=stopped_env(world, CARD_REFRESH_SECONDS="-1")
    )
    assert bad_setting.returncode == 1
    [line] = bad_setting.stderr.splitlines()
    assert line.startswith("ctvote: CARD_REFRESH_SECONDS is invalid: ")

    other_key = Fernet.generate_key().decode()
    wrong_key = await asyncio.to_thread(
        ctvote, workdir, "check-config", env=stopped_env(world, TOKEN_KEY=other_key)
    )
    assert wrong_key.returncode == 1
    assert wrong_key.stderr.splitlines() == [f"ctvote: {WRONG_KEY_MESSAGE}"]
    assert other_key not in wrong_key.stderr

    await world.stop()
    database = world.settings.database_path
    database.chmod(0o644)
    shared = await asyncio.to_thread(ctvote, workdir, "check-config", env=stopped_env(world))
    assert shared.returncode == 1
    assert shared.stderr.splitlines() == [
        f"ctvote: {database} is open to other users (mode 0644); "
        f"restrict it with: chmod 600 {database}"
    ]


@pytest.mark.sqlite_only  # files beside the SQLite database; PostgreSQL needs TOKEN_KEY set
@pytest.mark.parametrize("which", [".env", "key file", "database"])
async def test_a_secret_file_open_to_others_stops_the_start_in_one_line(
    world: BotWorld, workdir: Path, which: str
) -> None:
    await world.stop()
    key_file = workdir / "config" / "token.key"
    key_file.parent.mkdir(mode=0o700)
    key_file.write_bytes(Fernet.generate_key())
    key_file.chmod(0o600)
    database = workdir / "data" / "bot.sqlite3"
    env = world_environment(world, TOKEN_KEY="", TOKEN_KEY_FILE=str(key_file))
    env["DATABASE_PATH"] = str(database)
    opened = {".env": workdir / ".env", "key file": key_file, "database": database}[which]
    if which == ".env":
        opened.write_text("LOG_LEVEL=INFO\n")
    elif which == "database":
        database.parent.mkdir(mode=0o700)
        sqlite3.connect(database).close()
    opened.chmod(0o640)

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(BOT_SCRIPT)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    shown = ".env" if which == ".env" else opened  # .env is read from where the bot starts
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"ctvote: {shown} is open to other users (mode 0640); restrict it with: chmod 600 {shown}"
    ]
    assert world.fake.gateway.identify_count == 1  # the world's own bot; this one never connected


async def test_rotate_keys_leaves_every_token_readable_with_the_new_key_alone(
    world: BotWorld, workdir: Path
) -> None:
    await world.add_link()
    members = [await connected_member(world) for _ in range(3)]
    assert world.settings.token_key is not None
    old_key = world.settings.token_key.get_secret_value()
    new_key = Fernet.generate_key().decode()
    await world.stop()

    done = await asyncio.to_thread(
        ctvote, workdir, "rotate-keys", env=stopped_env(world, TOKEN_KEY=f"{new_key},{old_key}")
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("re-encrypted 4 stored tokens with the newest key")
    assert old_key not in done.stdout + done.stderr
    assert new_key not in done.stdout + done.stderr
    new_only = Fernet(new_key.encode())
    secrets = await stored_secrets(world)
    assert len(secrets) == 4
    for ciphertext in secrets:
        new_only.decrypt(ciphertext)

    await world.start(token_key=SecretStr(new_key))
    for member, api_token in members:
        assert f"<@{member.id}> voted" in (await public_result(await world.vote(member))).content
        assert world.sandbox.requests[-1].bearer == api_token
        assert world.sandbox.requests[-1].body is not None
        assert world.sandbox.requests[-1].body["token"] == world.demo.link_token


@pytest.mark.sqlite_only  # the SQLite file; PostgreSQL below
async def test_a_backup_taken_while_votes_are_written_holds_every_vote_committed_before_it(
    world: BotWorld, workdir: Path
) -> None:
    await world.add_link()
    members = [(await connected_member(world))[0] for _ in range(120)]
    for member in members[:30]:
        await public_result(await world.vote(member))
    committed = {entry.id for entry in await world.ledger()}
    assert len(committed) == 30

    target = workdir / "backups" / "bot-copy.sqlite3"
    backup = asyncio.create_task(
        asyncio.to_thread(ctvote, workdir, "backup", str(target), env=stopped_env(world))
    )
    during = 0
    for member in members[30:]:  # votes keep being written for as long as the backup runs
        if backup.done():
            break
        await public_result(await world.vote(member))
        during += 1
    done = await backup

    assert during > 0
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"backup written to {target} (integrity_check ok).")
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(path.name for path in target.parent.iterdir()) == ["bot-copy.sqlite3"]
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = copy.execute("SELECT id, status FROM ledger").fetchall()
    in_copy = {row_id for row_id, _ in rows}
    assert committed <= in_copy
    assert {status for row_id, status in rows if row_id in committed} == {LedgerStatus.PLAYED.value}

    again = await asyncio.to_thread(ctvote, workdir, "backup", str(target), env=stopped_env(world))
    assert again.returncode == 1
    assert again.stderr == f"ctvote: {target} exists already; choose a new name for the backup\n"


@pytest.mark.sqlite_only
@pytest.mark.parametrize("planted", ["symlink", "hard link"])
async def test_a_backup_never_writes_through_a_file_planted_at_its_draft_path(
    world: BotWorld, workdir: Path, planted: str
) -> None:
    """Another user who may write in the backup folder plants a name where the draft goes."""
    await world.add_link()
    victim = workdir / "someone-elses.txt"
    victim.write_text("not yours")
    target = workdir / "bot-copy.sqlite3"
    draft = workdir / ".bot-copy.sqlite3.partial"
    if planted == "symlink":
        draft.symlink_to(victim)
    else:
        draft.hardlink_to(victim)

    done = await asyncio.to_thread(ctvote, workdir, "backup", str(target), env=stopped_env(world))

    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"ctvote: {draft} is in the way"), line
    assert victim.read_text() == "not yours"
    assert not target.exists()
    left = await asyncio.to_thread(lambda: sorted(path.name for path in workdir.iterdir()))
    assert left == [draft.name, victim.name]


async def test_a_wrong_key_at_start_is_one_line_without_a_traceback(
    world: BotWorld, workdir: Path
) -> None:
    await world.stop()
    other_key = Fernet.generate_key().decode()
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(BOT_SCRIPT)],
        cwd=workdir,
        env=world_environment(world, TOKEN_KEY=other_key),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"ctvote: {WRONG_KEY_MESSAGE}"]


def test_ctvote_sandbox_and_run_are_the_same_programs_as_before(workdir: Path) -> None:
    sandbox = ctvote(workdir, "sandbox", "--help", env=bot_environment())
    assert sandbox.returncode == 0
    assert "--port" in sandbox.stdout
    run = ctvote(workdir, "run", "--help", env=bot_environment())
    assert run.returncode == 0
    assert "--sandbox" in run.stdout


async def stored_secrets(world: BotWorld) -> list[bytes]:
    """Every ciphertext the database holds, read as another program would."""
    queries = ("SELECT api_token FROM accounts", "SELECT link_token FROM channel_links")
    if world.settings.database_url is None:
        with sqlite3.connect(world.settings.database_path) as conn:
            return [row[0] for query in queries for row in conn.execute(query)]
    conn = await asyncpg.connect(world.settings.database_url.get_secret_value())
    try:
        return [bytes(row[0]) for query in queries for row in await conn.fetch(query)]
    finally:
        await conn.close()


@pytest.mark.postgres_only
async def test_check_config_reads_the_postgresql_database_without_writing(
    world: BotWorld, workdir: Path
) -> None:
    await world.stop()
    before = await stored_secrets(world)
    done = await asyncio.to_thread(ctvote, workdir, "check-config", env=stopped_env(world))
    assert done.returncode == 0, done.stderr
    latest = postgres_migrations()[-1].version
    assert (
        f"the PostgreSQL database: schema version {latest} of {latest}, the key fits" in done.stdout
    )

    other_key = Fernet.generate_key().decode()
    wrong = await asyncio.to_thread(
        ctvote, workdir, "check-config", env=stopped_env(world, TOKEN_KEY=other_key)
    )
    assert wrong.stderr.splitlines() == [f"ctvote: {WRONG_KEY_MESSAGE}"]
    no_key = await asyncio.to_thread(
        ctvote, workdir, "check-config", env=stopped_env(world, TOKEN_KEY="")
    )
    assert no_key.returncode == 1
    assert "TOKEN_KEY must be set when DATABASE_URL is" in no_key.stderr
    assert await stored_secrets(world) == before
    assert not await asyncio.to_thread(lambda: list(workdir.iterdir()))


@pytest.mark.postgres_only
async def test_backup_on_postgresql_points_to_pg_dump(world: BotWorld, workdir: Path) -> None:
    done = await asyncio.to_thread(
        ctvote, workdir, "backup", str(workdir / "copy.sqlite3"), env=stopped_env(world)
    )
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert "back up PostgreSQL with pg_dump" in line
    assert not await asyncio.to_thread(lambda: list(workdir.iterdir()))
