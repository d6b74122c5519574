"""Token encryption and the key file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from storage.errors import InvalidTokenKey, StorageUnavailable, WrongTokenKey
from storage.private_files import publish_private_file
from storage.token_cipher import (
    TokenCipher,
    default_key_file,
    legacy_key_file,
    load_token_key,
)
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


def test_the_default_key_file_is_in_the_config_folder_not_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert default_key_file() == tmp_path / "config" / "ctvote" / "token.key"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_key_file() == Path.home() / ".config" / "ctvote" / "token.key"


def test_a_key_file_beside_the_database_moves_to_the_config_folder(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    legacy = legacy_key_file(database)
    assert legacy == tmp_path / "data" / "bot.sqlite3.key"
    legacy.parent.mkdir()
    legacy.write_bytes(KEY + b"\n")
    legacy.chmod(0o600)
    key_path = tmp_path / "config" / "token.key"

    assert load_token_key(None, key_path, legacy_path=legacy) == KEY
    assert not legacy.exists()
    assert mode(key_path) == 0o600


@pytest.mark.parametrize("open_mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_open_to_other_users_stops_the_start(tmp_path: Path, open_mode: int) -> None:
    key_path = tmp_path / "token.key"
    key_path.write_bytes(KEY)
    key_path.chmod(open_mode)
    with pytest.raises(StorageUnavailable) as caught:
        load_token_key(None, key_path)
    assert str(caught.value) == (
        f"{key_path} is open to other users (mode {open_mode:04o}); "
        f"restrict it with: chmod 600 {key_path}"
    )
    assert KEY.decode() not in str(caught.value)


def test_several_keys_decrypt_what_any_made_and_rotate_to_the_newest() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    stored = TokenCipher(old).encrypt("api-token-1")
    both = TokenCipher(new + b", " + old)
    assert both.decrypt(stored).get_secret_value() == "api-token-1"
    rotated = both.rotate(stored)
    assert TokenCipher(new).decrypt(rotated).get_secret_value() == "api-token-1"
    with pytest.raises(WrongTokenKey):
        TokenCipher(old).decrypt(rotated)


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
    key_path = tmp_path / "token.key"
    key_path.write_bytes(KEY + b"\n")
    key_path.chmod(0o600)
    assert load_token_key(None, key_path) == KEY


def test_publish_never_replaces_a_file(tmp_path: Path) -> None:
    path = tmp_path / "file"
    assert publish_private_file(path, b"first")
    assert not publish_private_file(path, b"second")
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_a_key_file_that_cannot_be_created_says_to_set_token_key(tmp_path: Path) -> None:
    blocker = tmp_path / "config"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(StorageUnavailable) as caught:
        load_token_key(None, blocker / "ctvote" / "token.key")
    assert str(caught.value).endswith("; set TOKEN_KEY (or TOKEN_KEY_FILE) instead")
    assert "\n" not in str(caught.value)
