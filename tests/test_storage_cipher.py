"""Token encryption and the key file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from storage.errors import InvalidTokenKey, WrongTokenKey
from storage.private_files import publish_private_file
from storage.token_cipher import TokenCipher, key_path_for, load_token_key
from tests.helpers_storage import KEY, mode


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Let the process create world-readable files: only an explicit mode keeps them private."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_round_trip_hides_the_secret() -> None:
    cipher = TokenCipher(KEY)
    ciphertext = cipher.encrypt("api-token-123")
    assert b"api-token-123" not in ciphertext
    secret = cipher.decrypt(ciphertext)
    assert secret.get_secret_value() == "api-token-123"
    assert "api-token-123" not in repr(secret)


def test_each_encryption_differs() -> None:
    cipher = TokenCipher(KEY)
    assert cipher.encrypt("same") != cipher.encrypt("same")


def test_other_key_cannot_decrypt() -> None:
    ciphertext = TokenCipher(Fernet.generate_key()).encrypt("api-token-123")
    with pytest.raises(WrongTokenKey, match="TOKEN_KEY does not match the key the database"):
        TokenCipher(KEY).decrypt(ciphertext)


@pytest.mark.parametrize("key", [b"", b"short", b"x" * 44])
def test_malformed_key_is_refused(key: bytes) -> None:
    with pytest.raises(InvalidTokenKey, match="not a valid Fernet key"):
        TokenCipher(key)


def test_key_path_sits_beside_the_database(tmp_path: Path) -> None:
    assert key_path_for(tmp_path / "bot.sqlite3") == tmp_path / "bot.sqlite3.key"


def test_configured_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    key_path = tmp_path / "bot.sqlite3.key"
    assert load_token_key(SecretStr(f" {KEY.decode()}\n"), key_path) == KEY
    assert not key_path.exists()


@pytest.mark.usefixtures("open_umask")
def test_key_file_is_created_private_then_reused(tmp_path: Path) -> None:
    key_path = tmp_path / "new" / "bot.sqlite3.key"
    first = load_token_key(None, key_path)
    TokenCipher(first)
    assert mode(key_path) == 0o600
    assert mode(key_path.parent) == 0o700
    assert load_token_key(SecretStr("  "), key_path) == first
    assert load_token_key(None, key_path) == first
    assert sorted(p.name for p in key_path.parent.iterdir()) == ["bot.sqlite3.key"]


def test_existing_key_file_is_read(tmp_path: Path) -> None:
    key_path = tmp_path / "bot.sqlite3.key"
    key_path.write_bytes(KEY + b"\n")
    assert load_token_key(None, key_path) == KEY


def test_publish_never_replaces_a_file(tmp_path: Path) -> None:
    path = tmp_path / "file"
    assert publish_private_file(path, b"first")
    assert not publish_private_file(path, b"second")
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
