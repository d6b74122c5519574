"""Members' tracker API tokens, encrypted, and what we learn about them as they are used."""

from __future__ import annotations

from datetime import datetime

from storage.models import Account
from storage.postgres.sql import SqlStore
from storage.rows import account_from_row
from storage.timestamps import to_db


class AccountStore(SqlStore):
    """Accounts, one per Discord user."""

    async def save_account(
        self, user_id: int, api_token: str, default_session: int | None, *, now: datetime
    ) -> Account:
        (row,) = await self._fetch(
            """
            INSERT INTO accounts (user_id, api_token, default_session, connected_at)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (user_id) DO UPDATE SET
                api_token = excluded.api_token,
                default_session = excluded.default_session,
                connected_at = excluded.connected_at,
                last_used_at = NULL,
                token_rejected = false
            RETURNING *
            """,
            user_id,
            self._cipher.encrypt(api_token),
            default_session,
            to_db(now),
        )
        await self._vacuum("accounts")
        return account_from_row(row, self._cipher)

    async def get_account(self, user_id: int) -> Account | None:
        row = await self._fetchrow("SELECT * FROM accounts WHERE user_id = $1", user_id)
        return None if row is None else account_from_row(row, self._cipher)

    async def forget_account(self, user_id: int) -> bool:
        """Delete the account, then vacuum the table so its dead row version is cleared."""
        rows = await self._fetch("DELETE FROM accounts WHERE user_id = $1 RETURNING 1", user_id)
        if rows:
            await self._vacuum("accounts")
        return bool(rows)

    async def mark_token_rejected(self, user_id: int) -> None:
        await self._execute("UPDATE accounts SET token_rejected = true WHERE user_id = $1", user_id)
