"""Vote links that guilds offer in their channels; the link token is a secret, kept encrypted."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import aiosqlite

from storage.errors import LinkNameTaken
from storage.models import ChannelLink, NewLink
from storage.read_cache import ReadCache
from storage.rows import link_from_row
from storage.sqlite.sql import SqlStore
from storage.timestamps import to_db
from storage.token_cipher import TokenCipher


class LinkStore(SqlStore):
    """Channel links. Names are unique per channel, compared without ASCII case.

    Every vote asks for its channel's links; they change only through the writes below, so the
    answers are cached until the next one.
    """

    def __init__(self, conn: aiosqlite.Connection, cipher: TokenCipher) -> None:
        super().__init__(conn, cipher)
        self._channel_links: ReadCache[tuple[int, int], tuple[ChannelLink, ...]] = ReadCache()

    async def add_link(self, link: NewLink, *, now: datetime) -> ChannelLink:
        insert = self._fetch_all(
            """
            INSERT INTO channel_links (guild_id, channel_id, name, link_token, vote_interval,
                                       anonymous_allowed, added_by, added_at, locale)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING *
            """,
            (
                link.guild_id,
                link.channel_id,
                link.name,
                self._cipher.encrypt(link.link_token.get_secret_value()),
                link.interval.value,
                link.anonymous_allowed,
                link.added_by,
                to_db(now),
                link.locale,
            ),
        )
        try:
            (row,) = await self._channel_links.changed_by(insert)
        except sqlite3.IntegrityError as error:
            if error.sqlite_errorname != "SQLITE_CONSTRAINT_UNIQUE":
                raise
            raise LinkNameTaken(f"This channel already has a link named “{link.name}”.") from None
        return self._link(row)

    async def remove_link(self, guild_id: int, channel_id: int, name: str) -> ChannelLink | None:
        """Delete the link, erasing its token; its ledger rows stay, with link_id set to NULL."""
        delete = self._write_erasing(
            """
            DELETE FROM channel_links WHERE guild_id = ? AND channel_id = ? AND name = ?
            RETURNING *
            """,
            (guild_id, channel_id, name),
        )
        rows = await self._channel_links.changed_by(delete)
        return self._link(rows[0]) if rows else None

    async def get_link(self, link_id: int) -> ChannelLink | None:
        row = await self._fetch_one("SELECT * FROM channel_links WHERE id = ?", (link_id,))
        return None if row is None else self._link(row)

    async def links_in_channel(self, guild_id: int, channel_id: int) -> list[ChannelLink]:
        key = (guild_id, channel_id)
        return list(await self._channel_links.read(key, lambda: self._load_links(*key)))

    async def _load_links(self, guild_id: int, channel_id: int) -> tuple[ChannelLink, ...]:
        rows = await self._fetch_all(
            "SELECT * FROM channel_links WHERE guild_id = ? AND channel_id = ? ORDER BY name",
            (guild_id, channel_id),
        )
        return tuple(self._link(row) for row in rows)

    async def links_in_guild(self, guild_id: int) -> list[ChannelLink]:
        rows = await self._fetch_all(
            "SELECT * FROM channel_links WHERE guild_id = ? ORDER BY channel_id, name", (guild_id,)
        )
        return [self._link(row) for row in rows]

    async def set_link_session(self, link_id: int, session_id: int) -> None:
        """Record the session the link resolved to, learnt from a played vote."""
        await self._channel_links.changed_by(
            self._write(
                "UPDATE channel_links SET session_id = ? WHERE id = ?", (session_id, link_id)
            )
        )

    async def set_guild_locale(self, guild_id: int, locale: str) -> None:
        """The server's language changed: its links' public messages follow.

        Read first: a write that changes nothing would still wait for a locked database.
        """
        stale = await self._fetch_one(
            "SELECT 1 FROM channel_links WHERE guild_id = ? AND locale IS NOT ? LIMIT 1",
            (guild_id, locale),
        )
        if stale is None:
            return
        await self._channel_links.changed_by(
            self._write(
                "UPDATE channel_links SET locale = ? WHERE guild_id = ? AND locale IS NOT ?",
                (locale, guild_id, locale),
            )
        )

    def _link(self, row: aiosqlite.Row) -> ChannelLink:
        return link_from_row(row, self._cipher)
