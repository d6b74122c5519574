"""Encryption of the secrets we keep, so a copy of the database file alone reveals none of them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from storage.errors import InvalidTokenKey, StorageUnavailable, WrongTokenKey
from storage.private_files import describe_os_error, publish_private_file

log = logging.getLogger(__name__)

_KEY_CANARY_META = "token_key_canary"
_KEY_CANARY = "ctvote token key check"
WRONG_KEY_MESSAGE = (
    "TOKEN_KEY does not match the key the database was created with; "
    "restore the original key (or its key file) or start from a new database"
)


class TokenCipher:
    """Fernet around API and link tokens: authenticated, so a wrong key fails loudly."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise InvalidTokenKey(
                "TOKEN_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes)"
            ) from None

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def decrypt(self, ciphertext: bytes) -> SecretStr:
        try:
            return SecretStr(self._fernet.decrypt(ciphertext).decode())
        except InvalidToken:
            raise WrongTokenKey(WRONG_KEY_MESSAGE) from None


class MetaStore(Protocol):
    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...


async def check_key(meta: MetaStore, cipher: TokenCipher) -> None:
    """Fail at start-up, not at the first decrypt, when the key is not the database's."""
    canary = await meta.get_meta(_KEY_CANARY_META)
    if canary is None:
        await meta.set_meta(_KEY_CANARY_META, cipher.encrypt(_KEY_CANARY).decode())
    else:
        cipher.decrypt(canary.encode())


def key_path_for(database_path: Path) -> Path:
    """Keep the generated key beside the database it unlocks: `bot.sqlite3` → `bot.sqlite3.key`."""
    return Path(str(database_path) + ".key")


def load_token_key(configured: SecretStr | None, key_path: Path) -> bytes:
    """Use the configured key, else the key file, else create one: a first start needs no setup.

    A blank configured value counts as not configured.
    """
    if configured is not None and configured.get_secret_value().strip():
        return configured.get_secret_value().strip().encode()
    if not key_path.exists() and publish_private_file(key_path, Fernet.generate_key()):
        log.warning("created a new token key in %s; back it up with the database", key_path)
    try:
        if key_path.stat().st_mode & 0o077:
            log.warning("%s is readable by other users; restrict it to mode 0600", key_path)
        return key_path.read_bytes().strip()
    except OSError as error:
        raise StorageUnavailable(
            f"cannot read the token key file {key_path}: {describe_os_error(error)}"
        ) from None
