"""Vote links that guilds offer in their channels; the link token is a secret, kept encrypted."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from storage.errors import LinkNameTaken
from storage.models import ChannelLink, NewLink
from storage.postgres.sql import SqlStore
from storage.read_cache import ReadCache
from storage.rows import link_from_row
from storage.timestamps import to_db
from storage.token_cipher import TokenCipher


class LinkStore(SqlStore):
    """Channel links. Names are unique per channel, compared without ASCII case.

    Every vote asks for its channel's links; they change only through the writes below, so the
    answers are cached until the next one.
    """

    def __init__(self, pool: asyncpg.Pool, cipher: TokenCipher) -> None:
        super().__init__(pool, cipher)
        self._channel_links: ReadCache[tuple[int, int], tuple[ChannelLink, ...]] = ReadCache()

    async def add_link(self, link: NewLink, *, now: datetime) -> ChannelLink:
        insert = self._fetch(
            """
            INSERT INTO channel_links (guild_id, channel_id, name, link_token, vote_interval,
                                       anonymous_allowed, added_by, added_at, locale)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            RETURNING *
            """,
            link.guild_id,
            link.channel_id,
            link.name,
            self._cipher.encrypt(link.link_token.get_secret_value()),
            link.interval.value,
            link.anonymous_allowed,
            link.added_by,
            to_db(now),
            link.locale,
        )
        try:
            (row,) = await self._channel_links.changed_by(insert)
        except asyncpg.UniqueViolationError:
            raise LinkNameTaken(f"This channel already has a link named “{link.name}”.") from None
        return link_from_row(row, self._cipher)

    async def remove_link(self, guild_id: int, channel_id: int, name: str) -> ChannelLink | None:
        delete = self._fetchrow(
            """
            DELETE FROM channel_links
            WHERE guild_id = $1 AND channel_id = $2 AND lower(name) = lower($3)
            RETURNING *
            """,
            guild_id,
            channel_id,
            name,
        )
        row = await self._channel_links.changed_by(delete)
        if row is None:
            return None
        await self._vacuum("channel_links")
        return link_from_row(row, self._cipher)

    async def get_link(self, link_id: int) -> ChannelLink | None:
        row = await self._fetchrow("SELECT * FROM channel_links WHERE id = $1", link_id)
        return None if row is None else link_from_row(row, self._cipher)

    async def links_in_channel(self, guild_id: int, channel_id: int) -> list[ChannelLink]:
        key = (guild_id, channel_id)
        return list(await self._channel_links.read(key, lambda: self._load_links(*key)))

    async def _load_links(self, guild_id: int, channel_id: int) -> tuple[ChannelLink, ...]:
        rows = await self._fetch(
            "SELECT * FROM channel_links WHERE guild_id = $1 AND channel_id = $2"
            ' ORDER BY lower(name) COLLATE "C"',
            guild_id,
            channel_id,
        )
        return tuple(link_from_row(row, self._cipher) for row in rows)

    async def links_in_guild(self, guild_id: int) -> list[ChannelLink]:
        rows = await self._fetch(
            "SELECT * FROM channel_links WHERE guild_id = $1"
            ' ORDER BY channel_id, lower(name) COLLATE "C"',
            guild_id,
        )
        return [link_from_row(row, self._cipher) for row in rows]

    async def set_link_session(self, link_id: int, session_id: int) -> None:
        await self._channel_links.changed_by(
            self._execute(
                "UPDATE channel_links SET session_id = $1 WHERE id = $2", session_id, link_id
            )
        )

    async def set_guild_locale(self, guild_id: int, locale: str) -> None:
        """The server's language changed: its links' public messages follow (read first, so an
        unchanged language costs no write)."""
        stale = await self._fetchrow(
            "SELECT 1 FROM channel_links WHERE guild_id = $1 AND locale IS DISTINCT FROM $2"
            " LIMIT 1",
            guild_id,
            locale,
        )
        if stale is not None:
            await self._channel_links.changed_by(
                self._execute(
                    "UPDATE channel_links SET locale = $2"
                    " WHERE guild_id = $1 AND locale IS DISTINCT FROM $2",
                    guild_id,
                    locale,
                )
            )
