"""A real PostgreSQL server for the test session, started from the machine's own binaries.

`initdb` and `pg_ctl` refuse to run as root (CI runs as root): there they run as the `postgres`
system user, in a temporary folder that user owns. The server listens on a Unix socket in that
folder only (no TCP port, so parallel suites cannot collide), with fsync off: a test database is
thrown away. Each test gets a fresh database copied from a migrated template.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from storage.postgres.database import apply_migrations, postgres_migrations

DEFAULT_BIN = Path("/usr/lib/postgresql/15/bin")
TEMPLATE = "ctvote_template"
SERVER_OPTIONS = "-c listen_addresses='' -c max_connections=300 -c shared_buffers=32MB"
# A test database is thrown away: no need to wait for the disk.
THROWAWAY_OPTIONS = " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class PostgresUnavailable(Exception):
    """The server could not be started; the message says which step failed and why."""


def find_binaries() -> Path:
    """PG_BIN, else the Debian PostgreSQL 15 folder, else wherever `initdb` is on PATH."""
    candidates = [Path(os.environ["PG_BIN"])] if os.environ.get("PG_BIN") else []
    candidates.append(DEFAULT_BIN)
    if found := shutil.which("initdb"):
        candidates.append(Path(found).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise PostgresUnavailable(
        f"no initdb/pg_ctl in {', '.join(map(str, candidates))} (set PG_BIN to their folder)"
    )


def children_of(parent: int) -> list[int]:
    """The processes whose parent is `parent`, read from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The command name in parentheses may hold spaces: the fields after its ")" are fixed.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                children.append(int(stat.parent.name))
    return children


class PostgresServer:
    """`durable`: the server's default settings (each commit flushed), as in production."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.bin = find_binaries()
        self.root = Path(tempfile.mkdtemp(prefix="ctvote-pg-"))
        self.data = self.root / "data"
        self._as_owner: list[str] = []
        self._numbers = itertools.count(1)
        self._template_ready = False

    def start(self) -> None:
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no postgres user") from None
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_owner = ["runuser", "-u", "postgres", "--"]
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "30",
            "-o", f"-k {self.root} {self._options()}", "start",
        )  # fmt: skip

    def _options(self) -> str:
        return SERVER_OPTIONS if self.durable else SERVER_OPTIONS + THROWAWAY_OPTIONS

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is cut, and the server comes back."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "30",
            "-m", "fast", "-o", f"-k {self.root} {self._options()}", "restart",
        )  # fmt: skip

    def process_ids(self) -> list[int]:
        """The postmaster (the first line of postmaster.pid) and its children, postmaster first."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return []
        children = []
        for status in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(status.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    children.append(int(status.parent.name))
        return [postmaster, *children]

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(PostgresUnavailable):  # never started, or already gone
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """The server stops answering, as a frozen host or a partition: its processes are
        stopped (SIGSTOP) and resumed (SIGCONT) when the block ends, however it ends.
        Connections stay open; nothing answers."""
        postmaster = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        processes = [postmaster, *children_of(postmaster)]
        try:
            for pid in processes:
                os.kill(pid, signal.SIGSTOP)
            yield
        finally:
            for pid in processes:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.root}"

    async def _prepare_template(self) -> None:
        """A database with every migration applied, copied for each test."""
        self._template_ready = True
        admin = await asyncpg.connect(self.url("postgres"))
        try:
            await admin.execute(f"CREATE DATABASE {TEMPLATE}")
        finally:
            await admin.close()
        conn = await asyncpg.connect(self.url(TEMPLATE))
        try:
            await apply_migrations(conn, postgres_migrations())
        finally:
            await conn.close()

    async def new_database(self, *, migrated: bool = True) -> str:
        """A fresh database's URL: migrated (from the template) or empty."""
        if migrated and not self._template_ready:
            await self._prepare_template()
        name = f"test_{next(self._numbers)}"
        template = TEMPLATE if migrated else "template0"
        admin = await asyncpg.connect(self.url("postgres"))
        try:
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        finally:
            await admin.close()
        return self.url(name)

    async def stored_bytes(self, url: str) -> bytes:
        """Everything the server keeps on disk for one database: its table files and the WAL.

        A checkpoint first writes what sits in shared memory, as a shutdown would.
        """
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CHECKPOINT")
            oid = await conn.fetchval(
                "SELECT oid FROM pg_database WHERE datname = current_database()"
            )
        finally:
            await conn.close()
        folders = (self.data / "base" / str(oid), self.data / "pg_wal")
        return b"".join(
            path.read_bytes()
            for folder in folders
            for path in sorted(folder.iterdir())
            if path.is_file()
        )

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_owner, str(self.bin / program), *args]
        try:
            done = subprocess.run(  # noqa: S603 - the server's own binaries, fixed arguments
                command, capture_output=True, text=True, check=False, timeout=60
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PostgresUnavailable(f"{program}: {error}") from None
        if done.returncode != 0:
            log_file = self.root / "server.log"
            detail = (done.stderr or done.stdout).strip().splitlines()
            if log_file.exists():
                detail += log_file.read_text(errors="replace").strip().splitlines()[-3:]
            raise PostgresUnavailable(f"{program} failed: {' / '.join(detail[-4:])}")
