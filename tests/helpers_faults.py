"""What the fault, security and input tests share: members with accounts, and what to check.

Each helper states one promise the bot makes to members under faults or attack, so that every
test checks it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import resource
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from tests.bot_world import BOT_SCRIPT, BotWorld, bot_environment, public_messages
from tests.fake_discord import Exchange, Member, SentMessage
from tracker.client import MAX_SESSION_ID, MAX_TOKEN_LENGTH
from tracker.sandbox import RecordedRequest

UNKNOWN_TEXT = "may or may not have counted"
UNCONFIRMED_TEXT = "never confirmed"  # a later vote, refused after an unknown one
SURPRISE_TEXT = "something went wrong on our side"
_member_ids = itertools.count(830_000_000_000_000_001)


def new_member(name: str = "member", **fields: Any) -> Member:
    """A member no other test uses, so each one's vote limits and account start empty."""
    user_id = next(_member_ids)
    return Member(user_id, f"{name}{user_id % 100_000}", **fields)


async def connected_member(world: BotWorld, name: str = "member") -> tuple[Member, str]:
    """A new member connected through the real modal with a tracker account of their own."""
    member = new_member(name)
    token = world.sandbox.add_user().api_token
    await world.connect(member, token)
    return member, token


async def private_answer(exchange: Exchange) -> SentMessage:
    """The member's answer when nothing is announced: private, and the only message."""
    answer = await exchange.final()
    assert answer.ephemeral, answer
    assert SURPRISE_TEXT not in answer.content, answer.content
    assert public_messages(exchange) == [], exchange.messages
    return answer


def pings_at_most(message: SentMessage, user_id: int | None) -> None:
    """A message may notify the member it is about, never @everyone, a role or anyone else."""
    allowed = message.allowed_mentions
    assert allowed is not None, f"no allowed_mentions on {message.content!r}"
    assert allowed.get("parse", []) == [], allowed
    assert allowed.get("roles", []) == [], allowed
    users = {int(user) for user in allowed.get("users", [])}
    assert users <= ({user_id} if user_id is not None else set()), allowed
    assert not allowed.get("replied_user", False), allowed


def is_valid_game_request(request: RecordedRequest) -> bool:
    """True when the body and bearer are what the API allows; anything else is our bug."""
    if request.method != "POST" or request.body is None:
        return False
    if json.loads(request.raw) != request.body:
        return False
    body = request.body
    if set(body) - {"game", "dom", "session", "token", "type"}:
        return False
    game, dom = body.get("game"), body.get("dom")
    if game not in ("dice", "luck", "link") or dom not in (0, 1) or isinstance(dom, bool):
        return False
    session = body.get("session")
    if session is not None and not (type(session) is int and 0 < session <= MAX_SESSION_ID):
        return False
    token = body.get("token")
    if token is not None and not _is_token(token):
        return False
    if game == "link" and body.get("type") not in ("add", "sub", "rand"):
        return False
    if game == "link" and dom == 0 and token is None:
        return False
    if not (game == "link" and dom == 0) and session is None:
        return False
    return request.bearer is None or _is_token(request.bearer)


def _is_token(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_TOKEN_LENGTH
        and value.isascii()
        and value.isprintable()
        and not any(ch.isspace() for ch in value)
    )


def world_environment(world: BotWorld, **overrides: str) -> dict[str, str]:
    """The world's settings as the environment a deployed bot reads them from."""
    settings = world.settings
    assert settings.token_key is not None
    values = {
        "DISCORD_TOKEN": settings.discord_token.get_secret_value(),
        "TRACKER_API_URL": str(settings.tracker_api_url),
        "DATABASE_PATH": str(settings.database_path),
        "TOKEN_KEY": settings.token_key.get_secret_value(),
        "DEV_GUILD_ID": str(settings.dev_guild_id),
        "TRACKER_READ_TIMEOUT": str(settings.tracker_read_timeout),
        "DISCORD_API_URL": str(settings.discord_api_url),
        "DISCORD_GATEWAY_URL": str(settings.discord_gateway_url),
        "DISCORD_IDENTIFY_WINDOW_SECONDS": str(settings.discord_identify_window_seconds),
    }
    if settings.database_url is not None:
        values["DATABASE_URL"] = settings.database_url.get_secret_value()
    return bot_environment(**(values | overrides))


@contextlib.asynccontextmanager
async def bot_process(
    world: BotWorld, cwd: Path, **overrides: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """The world's bot as a separate `python bot.py` process, on the same database file.

    The in-process bot is stopped first; the block gets the process once it is connected.
    Leaving the block kills it if it still runs. Its output goes to `cwd/stdout.txt` and
    `cwd/stderr.txt` (files, so a chatty process never blocks on a full pipe).
    """
    await world.stop()
    with (cwd / "stdout.txt").open("wb") as stdout, (cwd / "stderr.txt").open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BOT_SCRIPT),
            cwd=cwd,
            env=world_environment(world, **overrides),
            stdout=stdout,
            stderr=stderr,
        )
    try:
        ready = asyncio.ensure_future(world.fake.ready.wait())
        exited = asyncio.ensure_future(process.wait())
        done, _ = await asyncio.wait(
            {ready, exited}, timeout=30, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        exited.cancel()
        if ready not in done:
            raise AssertionError(f"bot.py did not connect: {(cwd / 'stderr.txt').read_text()}")
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        world.fake.ready.clear()


@contextlib.contextmanager
def disk_full(room: int = 0) -> Iterator[None]:
    """Every write to a regular file past `room` bytes fails in this process, as on a full disk;
    reads still work.

    A file-size limit (with SIGXFSZ ignored) makes each such write fail with EFBIG, which SQLite
    reports as a disk I/O error. Nothing may print inside the block: pytest captures output
    into files too.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (room, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
