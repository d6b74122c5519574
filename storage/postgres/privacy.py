"""What members and servers decide about personal data (see storage.sqlite.privacy)."""

from __future__ import annotations

from datetime import datetime

from storage.errors import CallUnderWay
from storage.models import MemberRecord
from storage.postgres.sql import SqlStore
from storage.rows import RETENTION_RUN_META, record_from_rows
from storage.spans import over_spans
from storage.timestamps import MICROSECONDS_PER_DAY, to_db

# The trigger of migration 0011 erases the rest in this statement. Pending rows keep their voter:
# a call that began meanwhile still has its outcome to record.
FORGET_SQL = """
    INSERT INTO forget_requests (user_id)
    SELECT $1 WHERE NOT EXISTS (
        SELECT 1 FROM ledger WHERE user_id = $1 AND status = 'pending'
    )
    RETURNING user_id
"""
MEMBER_CALLS_SQL = """
    SELECT ledger.*, channel_links.name AS link_name
    FROM ledger LEFT JOIN channel_links ON channel_links.id = ledger.link_id
    WHERE ledger.user_id = $1
    ORDER BY ledger.created_at, ledger.id
"""
RETENTION_SQL = """
    UPDATE ledger SET user_id = 0, voter_name = NULL
    FROM guild_retention
    WHERE guild_retention.guild_id = ledger.guild_id
        AND ledger.user_id <> 0 AND ledger.status <> 'pending'
        AND ledger.created_at < $1 - $2::bigint * guild_retention.days
        AND ($3::bigint IS NULL OR ledger.guild_id = $3)
        AND ledger.id BETWEEN $4 AND $5
    RETURNING ledger.id
"""
RETENTION_IDS_SQL = """
    SELECT (SELECT min(id) FROM ledger) AS first, (SELECT max(id) FROM ledger) AS last
    WHERE EXISTS (SELECT 1 FROM guild_retention WHERE $1::bigint IS NULL OR guild_id = $1)
"""
CLAIM_RUN_SQL = """
    INSERT INTO meta (key, value) VALUES ($1, $2)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
        WHERE meta.value::bigint <= $3
    RETURNING 1
"""


class PrivacyStore(SqlStore):
    async def forget_member(self, user_id: int) -> None:
        """Erase the member in one statement; then vacuum the tables whose dead row versions
        held the token's ciphertext or the member's names."""
        if await self._fetchrow(FORGET_SQL, user_id) is None:
            raise CallUnderWay("a call of this member is under way")
        for table in ("accounts", "ledger", "link_proposals"):
            await self._vacuum(table)

    async def member_record(self, user_id: int) -> MemberRecord:
        account = await self._fetchrow("SELECT * FROM accounts WHERE user_id = $1", user_id)
        reminders = await self._fetchrow(
            "SELECT locale FROM reminder_subscribers WHERE user_id = $1", user_id
        )
        calls = await self._fetch(MEMBER_CALLS_SQL, user_id)
        hidden = bool(await self.hidden_names([user_id]))
        return record_from_rows(user_id, account, reminders, hidden, calls, self._cipher)

    async def set_name_hidden(self, user_id: int, hidden: bool) -> None:
        if hidden:
            await self._execute(
                "INSERT INTO member_privacy (user_id, name_hidden) VALUES ($1, true)"
                " ON CONFLICT (user_id) DO UPDATE SET name_hidden = true",
                user_id,
            )
        else:
            await self._execute("DELETE FROM member_privacy WHERE user_id = $1", user_id)

    async def hidden_names(self, user_ids: list[int]) -> set[int]:
        if not user_ids:
            return set()
        rows = await self._fetch(
            "SELECT user_id FROM member_privacy WHERE name_hidden AND user_id = ANY($1::bigint[])",
            user_ids,
        )
        return {int(row["user_id"]) for row in rows}

    async def set_retention(self, guild_id: int, days: int | None) -> None:
        if days is None:
            await self._execute("DELETE FROM guild_retention WHERE guild_id = $1", guild_id)
        else:
            await self._execute(
                "INSERT INTO guild_retention (guild_id, days) VALUES ($1, $2)"
                " ON CONFLICT (guild_id) DO UPDATE SET days = excluded.days",
                guild_id,
                days,
            )

    async def retention_days(self, guild_id: int) -> int | None:
        days = await self._fetchval(
            "SELECT days FROM guild_retention WHERE guild_id = $1", guild_id
        )
        return None if days is None else int(days)

    async def apply_retention(self, *, now: datetime, guild_id: int | None = None) -> int:
        ids = await self._fetchrow(RETENTION_IDS_SQL, guild_id)
        if ids is None or ids["first"] is None:
            return 0

        async def clear(low: int, high: int) -> int:
            rows = await self._fetch(
                RETENTION_SQL, to_db(now), MICROSECONDS_PER_DAY, guild_id, low, high
            )
            return len(rows)

        cleared = await over_spans(ids["first"], ids["last"], clear)
        if cleared:
            await self._vacuum("ledger")
        return cleared

    async def claim_retention_run(self, *, now: datetime, due: datetime) -> bool:
        row = await self._fetchrow(CLAIM_RUN_SQL, RETENTION_RUN_META, str(to_db(now)), to_db(due))
        return row is not None
