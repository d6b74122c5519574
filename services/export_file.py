"""The export's file on disk: plain CSV while it fits the upload limit, gzip from then on.

Streamed a batch at a time, so a link with millions of votes never needs more disk than the
upload limit (plus one batch): the plain file stops growing at the limit, and the compressed
one is given up as soon as it passes it.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import shutil
from pathlib import Path
from typing import BinaryIO

# What a full disk looks like: no space, a quota reached, a file-size limit.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def disk_full(error: OSError) -> bool:
    return error.errno in DISK_FULL


class CappedCsv:
    """A CSV file (RFC 4180: quotes where needed, CRLF line ends) no larger than `limit` bytes.

    `too_large` says the content does not fit even compressed; writing then stops.
    """

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.compressed = False
        self.too_large = False
        self._file: BinaryIO = path.open("wb")
        self._packed: gzip.GzipFile | None = None

    def write_rows(self, rows: list[list[str]]) -> None:
        """Append rows; runs in a worker thread (every call may block on the disk)."""
        if self.too_large:
            return
        text = io.StringIO()
        csv.writer(text).writerows(rows)
        chunk = text.getvalue().encode("utf-8")
        if self._packed is None and self._file.tell() + len(chunk) > self.limit:
            self._compress_so_far()
        if self._packed is None:
            self._file.write(chunk)
        else:
            self._packed.write(chunk)
            self.too_large = self._file.tell() > self.limit

    def _compress_so_far(self) -> None:
        plain_path, plain = self.path, self._file
        self.path = plain_path.with_name(f"{plain_path.name}.gz")
        self._file = self.path.open("wb")
        self._packed = gzip.GzipFile(filename=plain_path.name, mode="wb", fileobj=self._file)
        self.compressed = True
        plain.close()
        with plain_path.open("rb") as written:
            shutil.copyfileobj(written, self._packed)
        plain_path.unlink()

    def close(self) -> None:
        """Finish the file; the compressed one may pass the limit with its last bytes."""
        try:
            if self._packed is not None:
                self._packed.close()
        finally:
            self._file.close()
        self.too_large = self.too_large or self.path.stat().st_size > self.limit
