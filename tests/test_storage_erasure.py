"""Secrets at rest: encrypted while stored, gone from every file once forgotten."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from storage.models import NewLink
from storage.sqlite.database import Database
from tests.helpers_storage import CHANNEL, GUILD, KEY, NOW, USER, db_path, file_bytes, raw_query

API_TOKEN = "api-token-5f2c9a7e41"
LINK_TOKEN = "link-token-8d03b6c1aa"


def stored_ciphertexts(path: Path) -> tuple[bytes, bytes]:
    ((api,),) = raw_query(path, "SELECT api_token FROM accounts WHERE user_id = ?", (USER,))
    ((link,),) = raw_query(path, "SELECT link_token FROM channel_links")
    return bytes(api), bytes(link)


async def store_both(db: Database) -> None:
    await db.save_account(USER, API_TOKEN, None, now=NOW)
    await db.add_link(
        NewLink(
            guild_id=GUILD,
            channel_id=CHANNEL,
            name="alice",
            link_token=SecretStr(LINK_TOKEN),
            added_by=USER,
        ),
        now=NOW,
    )


async def test_tokens_are_never_in_the_files_in_plain_text(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    async with Database.connect(path, KEY) as db:
        await store_both(db)
        api, link = stored_ciphertexts(path)
        while_open = file_bytes(path)
    after_close = file_bytes(path)
    for content in (while_open, after_close):
        assert API_TOKEN.encode() not in content
        assert LINK_TOKEN.encode() not in content
    # The same search does find what is stored, so the misses above mean something.
    assert api in after_close
    assert link in after_close


async def test_forgotten_account_leaves_no_trace(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    async with Database.connect(path, KEY) as db:
        await store_both(db)
        api, _ = stored_ciphertexts(path)
        assert api in file_bytes(path)
        assert await db.forget_account(USER)
        while_open = file_bytes(path)
    after_close = file_bytes(path)
    for content in (while_open, after_close):
        assert api not in content
        assert API_TOKEN.encode() not in content


async def test_replaced_token_leaves_no_trace(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    async with Database.connect(path, KEY) as db:
        await store_both(db)
        old, _ = stored_ciphertexts(path)
        await db.save_account(USER, "a-different-token", None, now=NOW)
        while_open = file_bytes(path)
    assert old not in while_open
    assert old not in file_bytes(path)


async def test_removed_link_leaves_no_trace(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    async with Database.connect(path, KEY) as db:
        await store_both(db)
        _, link = stored_ciphertexts(path)
        assert await db.remove_link(GUILD, CHANNEL, "alice") is not None
        while_open = file_bytes(path)
    assert link not in while_open
    assert link not in file_bytes(path)
