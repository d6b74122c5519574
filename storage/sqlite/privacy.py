"""What members and servers decide about personal data: forgetting, names in public, retention."""

from __future__ import annotations

from datetime import datetime

from storage.errors import CallUnderWay
from storage.models import MemberRecord
from storage.rows import RETENTION_RUN_META, record_from_rows
from storage.spans import over_spans
from storage.sqlite.sql import SqlStore
from storage.timestamps import MICROSECONDS_PER_DAY, to_db

# The trigger of migration 0011 does the erasing, in this one statement; written only while none
# of the member's calls is under way (a call's outcome is still to be recorded on its row).
FORGET_SQL = """
    INSERT INTO forget_requests (user_id)
    SELECT :user WHERE NOT EXISTS (
        SELECT 1 FROM ledger WHERE user_id = :user AND status = 'pending'
    )
    RETURNING user_id
"""
MEMBER_CALLS_SQL = """
    SELECT ledger.*, channel_links.name AS link_name
    FROM ledger LEFT JOIN channel_links ON channel_links.id = ledger.link_id
    WHERE ledger.user_id = ?
    ORDER BY ledger.created_at, ledger.id
"""
# Votes older than their server's retention lose their voter (0: storage.rows.FORMER_MEMBER);
# a server without a retention keeps them.
RETENTION_SQL = """
    UPDATE ledger SET user_id = 0, voter_name = NULL
    WHERE user_id <> 0 AND status <> 'pending'
        AND created_at < :now - :day * (
            SELECT days FROM guild_retention WHERE guild_retention.guild_id = ledger.guild_id
        )
        AND (:guild IS NULL OR guild_id = :guild)
        AND id BETWEEN :low AND :high
    RETURNING id
"""
# The ids a retention run covers (each bound read from the primary key alone); no row while no
# server has a retention.
RETENTION_IDS_SQL = """
    SELECT (SELECT min(id) FROM ledger) AS first, (SELECT max(id) FROM ledger) AS last
    WHERE EXISTS (SELECT 1 FROM guild_retention WHERE :guild IS NULL OR guild_id = :guild)
"""
# One process applies retention per period: the first to move the last run's time on.
CLAIM_RUN_SQL = """
    INSERT INTO meta (key, value) VALUES (:key, :now)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
        WHERE CAST(meta.value AS INTEGER) <= :due
    RETURNING 1
"""


class PrivacyStore(SqlStore):
    async def forget_member(self, user_id: int) -> None:
        """Erase the member's account, reminders and choices, and their id and name from every
        ledger row; the rows stay, so every figure stays. Erased bytes leave the files too."""
        if not await self._write_erasing(FORGET_SQL, {"user": user_id}):
            raise CallUnderWay("a call of this member is under way")

    async def member_record(self, user_id: int) -> MemberRecord:
        account = await self._fetch_one("SELECT * FROM accounts WHERE user_id = ?", (user_id,))
        reminders = await self._fetch_one(
            "SELECT locale FROM reminder_subscribers WHERE user_id = ?", (user_id,)
        )
        calls = await self._fetch_all(MEMBER_CALLS_SQL, (user_id,))
        hidden = bool(await self.hidden_names([user_id]))
        return record_from_rows(user_id, account, reminders, hidden, calls, self._cipher)

    async def set_name_hidden(self, user_id: int, hidden: bool) -> None:
        """Hidden is kept as a row; shown (the default) keeps nothing about the member."""
        if hidden:
            await self._write(
                "INSERT INTO member_privacy (user_id, name_hidden) VALUES (?, 1)"
                " ON CONFLICT (user_id) DO UPDATE SET name_hidden = 1",
                (user_id,),
            )
        else:
            await self._write("DELETE FROM member_privacy WHERE user_id = ?", (user_id,))

    async def hidden_names(self, user_ids: list[int]) -> set[int]:
        """Which of these members asked not to be named in public."""
        if not user_ids:
            return set()
        marks = ", ".join("?" * len(user_ids))
        rows = await self._fetch_all(
            f"SELECT user_id FROM member_privacy WHERE name_hidden = 1 AND user_id IN ({marks})",  # noqa: S608 - placeholders only
            user_ids,
        )
        return {int(row["user_id"]) for row in rows}

    async def set_retention(self, guild_id: int, days: int | None) -> None:
        if days is None:
            await self._write("DELETE FROM guild_retention WHERE guild_id = ?", (guild_id,))
        else:
            await self._write(
                "INSERT INTO guild_retention (guild_id, days) VALUES (?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET days = excluded.days",
                (guild_id, days),
            )

    async def retention_days(self, guild_id: int) -> int | None:
        row = await self._fetch_one(
            "SELECT days FROM guild_retention WHERE guild_id = ?", (guild_id,)
        )
        return None if row is None else int(row["days"])

    async def apply_retention(self, *, now: datetime, guild_id: int | None = None) -> int:
        """Clear the voter of every vote past its server's retention, a span of ids at a time;
        return how many."""
        ids = await self._fetch_one(RETENTION_IDS_SQL, {"guild": guild_id})
        if ids is None or ids["first"] is None:
            return 0
        asked = {"now": to_db(now), "day": MICROSECONDS_PER_DAY, "guild": guild_id}

        async def clear(low: int, high: int) -> int:
            return len(await self._fetch_all(RETENTION_SQL, asked | {"low": low, "high": high}))

        cleared = await over_spans(ids["first"], ids["last"], clear)
        if cleared:
            await self._push_out_erased()
        return cleared

    async def claim_retention_run(self, *, now: datetime, due: datetime) -> bool:
        """True for the one process that applies retention now: no run since `due`."""
        rows = await self._fetch_all(
            CLAIM_RUN_SQL, {"key": RETENTION_RUN_META, "now": str(to_db(now)), "due": to_db(due)}
        )
        return bool(rows)
