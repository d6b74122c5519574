"""Per-guild settings; a guild that never changed one gets the defaults."""

from __future__ import annotations

import aiosqlite

from storage.models import GuildSettings
from storage.sql import ReadCache, SqlStore
from storage.token_cipher import TokenCipher


class GuildStore(SqlStore):
    """Voter role and moderator log channel of each guild.

    Every vote checks its guild's voter role; settings change only through the writes below, so
    the answers are cached until the next one.
    """

    def __init__(self, conn: aiosqlite.Connection, cipher: TokenCipher) -> None:
        super().__init__(conn, cipher)
        self._settings: ReadCache[int, GuildSettings] = ReadCache()

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        cached = self._settings.get(guild_id)
        if cached is not None:
            return cached
        generation = self._settings.generation
        row = await self._fetch_one(
            "SELECT voter_role_id, log_channel_id FROM guild_settings WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            settings = GuildSettings(guild_id=guild_id, voter_role_id=None, log_channel_id=None)
        else:
            settings = GuildSettings(
                guild_id=guild_id,
                voter_role_id=row["voter_role_id"],
                log_channel_id=row["log_channel_id"],
            )
        self._settings.put(guild_id, settings, generation)
        return settings

    async def set_voter_role(self, guild_id: int, role_id: int | None) -> None:
        upsert = self._write(
            """
            INSERT INTO guild_settings (guild_id, voter_role_id) VALUES (?, ?)
            ON CONFLICT (guild_id) DO UPDATE SET voter_role_id = excluded.voter_role_id
            """,
            (guild_id, role_id),
        )
        await self._settings.changed_by(upsert)

    async def set_log_channel(self, guild_id: int, channel_id: int | None) -> None:
        upsert = self._write(
            """
            INSERT INTO guild_settings (guild_id, log_channel_id) VALUES (?, ?)
            ON CONFLICT (guild_id) DO UPDATE SET log_channel_id = excluded.log_channel_id
            """,
            (guild_id, channel_id),
        )
        await self._settings.changed_by(upsert)
