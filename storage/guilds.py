"""Per-guild settings; a guild that never changed one gets the defaults."""

from __future__ import annotations

from storage.models import GuildSettings
from storage.sql import SqlStore


class GuildStore(SqlStore):
    """Voter role and moderator log channel of each guild."""

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        row = await self._fetch_one(
            "SELECT voter_role_id, log_channel_id FROM guild_settings WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return GuildSettings(guild_id=guild_id, voter_role_id=None, log_channel_id=None)
        return GuildSettings(
            guild_id=guild_id,
            voter_role_id=row["voter_role_id"],
            log_channel_id=row["log_channel_id"],
        )

    async def set_voter_role(self, guild_id: int, role_id: int | None) -> None:
        await self._write(
            """
            INSERT INTO guild_settings (guild_id, voter_role_id) VALUES (?, ?)
            ON CONFLICT (guild_id) DO UPDATE SET voter_role_id = excluded.voter_role_id
            """,
            (guild_id, role_id),
        )

    async def set_log_channel(self, guild_id: int, channel_id: int | None) -> None:
        await self._write(
            """
            INSERT INTO guild_settings (guild_id, log_channel_id) VALUES (?, ?)
            ON CONFLICT (guild_id) DO UPDATE SET log_channel_id = excluded.log_channel_id
            """,
            (guild_id, channel_id),
        )
