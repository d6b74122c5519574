"""Per-guild settings; a guild that never changed one gets the defaults."""

from __future__ import annotations

import asyncpg

from storage.models import GuildSettings
from storage.postgres.sql import SqlStore
from storage.read_cache import ReadCache
from storage.rows import settings_from_row
from storage.token_cipher import TokenCipher


class GuildStore(SqlStore):
    """Voter role, moderator log channel and public language of each guild, cached until the
    next write."""

    def __init__(self, pool: asyncpg.Pool, cipher: TokenCipher) -> None:
        super().__init__(pool, cipher)
        self._settings: ReadCache[int, GuildSettings] = ReadCache()

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        return await self._settings.read(guild_id, lambda: self._load_settings(guild_id))

    async def _load_settings(self, guild_id: int) -> GuildSettings:
        row = await self._fetchrow(
            "SELECT voter_role_id, log_channel_id, language FROM guild_settings"
            " WHERE guild_id = $1",
            guild_id,
        )
        return settings_from_row(guild_id, row)

    async def set_voter_role(self, guild_id: int, role_id: int | None) -> None:
        await self._settings.changed_by(
            self._execute(
                "INSERT INTO guild_settings (guild_id, voter_role_id) VALUES ($1, $2)"
                " ON CONFLICT (guild_id) DO UPDATE SET voter_role_id = excluded.voter_role_id",
                guild_id,
                role_id,
            )
        )

    async def set_log_channel(self, guild_id: int, channel_id: int | None) -> None:
        await self._settings.changed_by(
            self._execute(
                "INSERT INTO guild_settings (guild_id, log_channel_id) VALUES ($1, $2)"
                " ON CONFLICT (guild_id) DO UPDATE SET log_channel_id = excluded.log_channel_id",
                guild_id,
                channel_id,
            )
        )

    async def set_guild_language(self, guild_id: int, language: str | None) -> None:
        await self._settings.changed_by(
            self._execute(
                "INSERT INTO guild_settings (guild_id, language) VALUES ($1, $2)"
                " ON CONFLICT (guild_id) DO UPDATE SET language = excluded.language",
                guild_id,
                language,
            )
        )
