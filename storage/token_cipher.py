"""Encryption of the secrets we keep, so a copy of the database file alone reveals none of them."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from storage.errors import InvalidTokenKey, StorageUnavailable, WrongTokenKey
from storage.private_files import (
    describe_os_error,
    publish_private_file,
    refuse_if_open_to_others,
)

log = logging.getLogger(__name__)

WRONG_KEY_MESSAGE = (
    "TOKEN_KEY does not match the key the database was created with; "
    "restore the original key (or its key file) or start from a new database"
)


class TokenCipher:
    """Fernet around API and link tokens: authenticated, so a wrong key fails loudly.

    `key` may hold several keys separated by commas, newest first (a rotation in progress): the
    newest encrypts, any of them decrypts.
    """

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = MultiFernet([Fernet(part.strip()) for part in key.split(b",")])
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

    def rotate(self, ciphertext: bytes) -> bytes:
        """The same secret encrypted with the newest key, so older keys can be dropped."""
        try:
            return self._fernet.rotate(ciphertext)
        except InvalidToken:
            raise WrongTokenKey(WRONG_KEY_MESSAGE) from None


def default_key_file() -> Path:
    """The generated key's home: the user's config folder, never the data folder.

    A copy of the data folder (a backup, a moved volume) then holds ciphertext without its key.
    """
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "ctvote" / "token.key"


def legacy_key_file(database_path: Path) -> Path:
    """Where versions before 0.2 kept the generated key: beside the database."""
    return Path(str(database_path) + ".key")


def load_token_key(
    configured: SecretStr | None,
    key_path: Path,
    *,
    legacy_path: Path | None = None,
    create: bool = True,
) -> bytes:
    """Use the configured key(s), else the key file, else create one: a first start needs no setup.

    A blank configured value counts as not configured. A key file left beside the database by
    an older version is moved to `key_path`, out of the data folder. Without `create` (the
    maintenance commands), nothing is created or moved.
    """
    if configured is not None and configured.get_secret_value().strip():
        return configured.get_secret_value().strip().encode()
    if legacy_path is not None and legacy_path.exists() and not key_path.exists():
        if create:
            _move_key_file(legacy_path, key_path)
        else:
            key_path = legacy_path
    if not key_path.exists() and not create:
        raise StorageUnavailable(
            f"there is no token key: TOKEN_KEY is not set and {key_path} does not exist"
        )
    if not key_path.exists() and _create_key_file(key_path):
        log.warning(
            "created a new token key in %s; keep a copy of it apart from the database's backups",
            key_path,
        )
    refuse_if_open_to_others(key_path)
    try:
        return key_path.read_bytes().strip()
    except OSError as error:
        raise StorageUnavailable(
            f"cannot read the token key file {key_path}: {describe_os_error(error)}"
        ) from None


def _create_key_file(key_path: Path) -> bool:
    try:
        return publish_private_file(key_path, Fernet.generate_key())
    except StorageUnavailable as error:
        raise StorageUnavailable(f"{error}; set TOKEN_KEY (or TOKEN_KEY_FILE) instead") from None


def _move_key_file(old: Path, new: Path) -> None:
    refuse_if_open_to_others(old)
    try:
        key = old.read_bytes()
    except OSError as error:
        raise StorageUnavailable(
            f"cannot read the token key file {old}: {describe_os_error(error)}"
        ) from None
    publish_private_file(new, key)
    old.unlink()
    log.warning("moved the token key from %s to %s, out of the data folder", old, new)
