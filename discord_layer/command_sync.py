"""Command sync at start: only when the command set changed, and to one place only.

Discord rate-limits syncs, so an unchanged command set is not sent again. Commands synced to a
development server stay there after the bot moves to a global sync (and the other way round):
members would see every command twice, so the scope the bot left is emptied.

Command mentions (`</vote add:ID>`) need the ids Discord gave the commands: they are kept with
the digest, so a start without a sync knows them too.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import discord
from discord import app_commands

from storage.interface import Storage

log = logging.getLogger(__name__)

GLOBAL = "global"


@dataclass(frozen=True)
class SyncedCommands:
    changed: bool
    """Whether the commands were sent to Discord this time."""
    ids: dict[str, int]
    """Each top-level command's id, by name."""


async def sync_commands(
    tree: app_commands.CommandTree, db: Storage, application_id: int, dev_guild_id: int | None
) -> SyncedCommands:
    guild = discord.Object(id=dev_guild_id) if dev_guild_id else None
    scope = str(guild.id) if guild else GLOBAL
    if guild is not None:
        tree.copy_global_to(guild=guild)
    await _empty_previous_scope(tree, db, application_id, scope)
    payload = await _payload(tree, guild)
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    digest_key = _digest_key(application_id, scope)
    ids_key = f"command_ids:{application_id}:{scope}"
    if await db.get_meta(digest_key) == digest:
        log.info("commands unchanged since the last sync; not syncing")
        stored = await db.get_meta(ids_key)
        if stored:
            return SyncedCommands(changed=False, ids=json.loads(stored))
        ids = _ids(await tree.fetch_commands(guild=guild))
        await db.set_meta(ids_key, json.dumps(ids))
        return SyncedCommands(changed=False, ids=ids)
    synced = await tree.sync(guild=guild)
    ids = _ids(synced)
    await db.set_meta(ids_key, json.dumps(ids))
    await db.set_meta(digest_key, digest)
    log.info("synced %d commands to %s", len(synced), "all servers" if guild is None else scope)
    return SyncedCommands(changed=True, ids=ids)


def _ids(commands: list[app_commands.AppCommand]) -> dict[str, int]:
    return {command.name: command.id for command in commands}


async def _payload(
    tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None
) -> list[dict[str, object]]:
    """What `tree.sync` sends, translations included, so a changed translation syncs again."""
    translator = tree.translator
    commands = tree.get_commands(guild=guild)
    if translator is None:
        return [command.to_dict(tree) for command in commands]
    return [await command.get_translated_payload(tree, translator) for command in commands]


async def _empty_previous_scope(
    tree: app_commands.CommandTree, db: Storage, application_id: int, scope: str
) -> None:
    scope_key = f"command_scope:{application_id}"
    previous = await db.get_meta(scope_key)
    if previous is not None and previous != scope:
        http = tree.client.http
        if previous == GLOBAL:
            await http.bulk_upsert_global_commands(application_id, [])
        else:
            await http.bulk_upsert_guild_commands(application_id, int(previous), [])
        await db.set_meta(_digest_key(application_id, previous), "")
        log.info("removed the commands synced to %s before", previous)
    await db.set_meta(scope_key, scope)


def _digest_key(application_id: int, scope: str) -> str:
    return f"synced_commands:{application_id}:{scope}"
