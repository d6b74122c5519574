"""Files holding secrets are born readable by us alone; their mode is never fixed up afterwards."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from storage.errors import StorageUnavailable

_PRIVATE_FILE = 0o600
_PRIVATE_DIR = 0o700


def create_private_file(path: Path) -> None:
    """Create an empty mode-0600 file unless it exists; SQLite gives its -wal and -shm that mode."""
    make_private_folder(path.parent)
    try:
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_FILE))
    except OSError as error:
        raise StorageUnavailable(f"cannot create {path}: {describe_os_error(error)}") from None
    if not path.is_file():
        raise StorageUnavailable(f"cannot use {path}: it is not a file")


def make_private_folder(folder: Path) -> None:
    """Create the folder (mode 0700) and its parents unless it exists."""
    try:
        folder.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
    except FileExistsError as error:
        raise StorageUnavailable(
            f"cannot create the folder {error.filename}: a file of that name is in the way"
        ) from None
    except OSError as error:
        raise StorageUnavailable(
            f"cannot create the folder {folder}: {describe_os_error(error)}"
        ) from None


def describe_os_error(error: OSError) -> str:
    """`No space left on device (/data/x)`: the reason and the file, without a traceback."""
    reason = error.strerror or type(error).__name__
    return f"{reason} ({error.filename})" if error.filename else reason


def publish_private_file(path: Path, data: bytes) -> bool:
    """Write a new mode-0600 file all at once, or return False if it already exists.

    The data goes to a temporary name first and is hard-linked into place, so a crash never
    leaves an empty or half-written file under the real name, and another writer's file is never
    replaced.
    """
    make_private_folder(path.parent)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        return _publish(draft, path, data)
    except OSError as error:
        raise StorageUnavailable(f"cannot create {path}: {describe_os_error(error)}") from None


def _publish(draft: Path, path: Path, data: bytes) -> bool:
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            return False
        _fsync_directory(path.parent)
        return True
    finally:
        draft.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def refuse_if_open_to_others(path: Path) -> None:
    """Stop the start when a file holding secrets can be read or changed by other users.

    An existing file keeps whatever mode it was given (a copy, an editor, an umask of 022), so
    a file the bot created safely may have been opened up since.
    """
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    except OSError as error:
        raise StorageUnavailable(f"cannot check {path}: {describe_os_error(error)}") from None
    if mode & 0o077:
        raise StorageUnavailable(
            f"{path} is open to other users (mode {mode:04o}); restrict it with: chmod 600 {path}"
        )
