"""Members' tracker API tokens, encrypted, and what we learn about them as they are used."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.models import Account
from storage.rows import account_from_row
from storage.sqlite.sql import SqlStore
from storage.timestamps import to_db


class AccountStore(SqlStore):
    """Accounts, one per Discord user."""

    async def save_account(
        self, user_id: int, api_token: str, default_session: int | None, *, now: datetime
    ) -> Account:
        """Connect or reconnect: a new token starts clean, and the old one's bytes are erased."""
        (row,) = await self._write_erasing(
            """
            INSERT INTO accounts (user_id, api_token, default_session, connected_at)
            VALUES (?, ?, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET
                api_token = excluded.api_token,
                default_session = excluded.default_session,
                connected_at = excluded.connected_at,
                last_used_at = NULL,
                token_rejected = 0
            RETURNING *
            """,
            (user_id, self._cipher.encrypt(api_token), default_session, to_db(now)),
        )
        return self._account(row)

    async def get_account(self, user_id: int) -> Account | None:
        row = await self._fetch_one("SELECT * FROM accounts WHERE user_id = ?", (user_id,))
        return None if row is None else self._account(row)

    async def forget_account(self, user_id: int) -> bool:
        """Delete the account so that neither its token nor the ciphertext stays in any file."""
        rows = await self._write_erasing(
            "DELETE FROM accounts WHERE user_id = ? RETURNING user_id", (user_id,)
        )
        return bool(rows)

    async def mark_token_rejected(self, user_id: int) -> None:
        """Remember that the tracker answered 401, so the member can be asked to reconnect."""
        await self._write("UPDATE accounts SET token_rejected = 1 WHERE user_id = ?", (user_id,))

    def _account(self, row: aiosqlite.Row) -> Account:
        return account_from_row(row, self._cipher)
