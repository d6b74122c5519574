"""Which process lives still run, for a SQLite file that several processes might open.

Each process life holds an exclusive lock on its own file in a folder beside the database; the
kernel releases it when the process ends, however it ends (SIGKILL included). A pending ledger
row carries its life's id, so start-up settles only the rows of lives whose lock is free.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from pathlib import Path

from storage.errors import StorageUnavailable
from storage.private_files import describe_os_error, make_private_folder


class LifeLock:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        make_private_folder(folder)
        for _ in range(8):
            boot_id = secrets.randbelow(2**31 - 1) + 1
            fd = self._lock(boot_id)
            if fd is not None:
                self.boot_id, self._fd = boot_id, fd
                return
        raise StorageUnavailable(f"cannot take a process lock in {folder}")

    def ended(self, boot_id: int) -> bool:
        """True when no process holds `boot_id`'s lock; its file is then removed."""
        if boot_id == self.boot_id:
            return False
        fd = self._lock(boot_id, create=False)
        if fd is None:
            return not self._path(boot_id).exists()
        self._path(boot_id).unlink(missing_ok=True)
        os.close(fd)
        return True

    def others_alive(self) -> bool:
        """True while another process life holds its lock on this database."""
        return any(
            not self.ended(int(path.stem))
            for path in self._folder.glob("*.lock")
            if path.stem.isdigit() and int(path.stem) != self.boot_id
        )

    def release(self) -> None:
        self._path(self.boot_id).unlink(missing_ok=True)
        os.close(self._fd)

    def _path(self, boot_id: int) -> Path:
        return self._folder / f"{boot_id}.lock"

    def _lock(self, boot_id: int, *, create: bool = True) -> int | None:
        """An open, locked file descriptor, or None when another life holds the lock."""
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        try:
            fd = os.open(self._path(boot_id), flags, 0o600)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StorageUnavailable(
                f"cannot use the process lock {self._path(boot_id)}: {describe_os_error(error)}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        return fd
