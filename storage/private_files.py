"""Files holding secrets are born readable by us alone; their mode is never fixed up afterwards."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from storage.errors import StorageError, StorageUnavailable

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


@contextlib.contextmanager
def private_draft(target: Path) -> Iterator[Path]:
    """A new empty mode-0600 file for `target`'s content, in a folder beside it that only we
    may enter; the folder is removed when the block ends.

    Whoever may write in `target`'s folder can plant a link, or a name of their own file, where
    a draft goes. The folder is made by `mkdir` (which neither follows nor reuses what is
    there), the file with `O_EXCL | O_NOFOLLOW`, and both are checked to be ours, so nothing
    written to the draft, nor SQLite's journal beside it, lands in anybody else's file.
    """
    folder = target.with_name(f".{target.name}.partial")
    _remove_own_leftover(folder)
    try:
        folder.mkdir(mode=_PRIVATE_DIR)
    except FileExistsError:
        raise _in_the_way(folder) from None
    except OSError as error:
        raise StorageUnavailable(f"cannot create {folder}: {describe_os_error(error)}") from None
    try:
        _refuse_unless_own(folder.lstat(), folder, stat.S_ISDIR)
        draft = folder / target.name
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            fd = os.open(draft, flags, _PRIVATE_FILE)
        except OSError as error:
            raise StorageUnavailable(f"cannot create {draft}: {describe_os_error(error)}") from None
        try:
            _refuse_unless_own(os.fstat(fd), draft, stat.S_ISREG)
        finally:
            os.close(fd)
        yield draft
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _remove_own_leftover(folder: Path) -> None:
    """A draft folder of an interrupted run by this user goes; anything else stays, refused."""
    try:
        status = folder.lstat()
    except FileNotFoundError:
        return
    _refuse_unless_own(status, folder, stat.S_ISDIR)
    shutil.rmtree(folder)


def _refuse_unless_own(status: os.stat_result, path: Path, is_kind: Callable[[int], bool]) -> None:
    if not is_kind(status.st_mode) or status.st_uid != os.geteuid():
        raise _in_the_way(path)


def _in_the_way(path: Path) -> StorageError:
    return StorageError(
        f"{path} is in the way (a link, or a file or folder this user did not create for a "
        "backup); remove it, then try again"
    )


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
