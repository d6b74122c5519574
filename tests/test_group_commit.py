"""Group commit: each waiter is covered by a sync sent after it asked, and a burst shares one."""

from __future__ import annotations

import asyncio

import pytest

from storage.errors import StorageUnavailable
from storage.sqlite.group_commit import GroupCommit


class Disk:
    """Records when each sync was sent; a test opens the gate to let a sync finish."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.clock = 0
        self.gate = asyncio.Event()
        self.fail = False

    async def sync(self) -> None:
        self.clock += 1
        self.sent.append(self.clock)
        await self.gate.wait()
        if self.fail:
            raise StorageUnavailable("the disk is gone")


async def test_a_burst_shares_syncs_and_each_waiter_is_covered() -> None:
    disk = Disk()
    commits = GroupCommit(disk.sync)
    asked: dict[int, int] = {}
    done: dict[int, int] = {}

    async def commit(n: int) -> None:
        disk.clock += 1
        asked[n] = disk.clock
        await commits.durable()
        done[n] = disk.sent[-1]

    first = [asyncio.create_task(commit(n)) for n in range(10)]
    await asyncio.sleep(0)  # the first sync is sent; the next ten wait for it
    later = [asyncio.create_task(commit(n)) for n in range(10, 20)]
    await asyncio.sleep(0)
    disk.gate.set()
    await asyncio.gather(*first, *later)

    assert len(disk.sent) == 2
    assert all(asked[n] < done[n] for n in asked)  # the sync waited for was sent after the commit


async def test_a_failed_sync_fails_its_waiters_and_the_next_one_is_fresh() -> None:
    disk = Disk()
    disk.fail = True
    disk.gate.set()
    commits = GroupCommit(disk.sync)
    with pytest.raises(StorageUnavailable):
        await asyncio.gather(commits.durable(), commits.durable())
    disk.fail = False
    await commits.durable()
    assert len(disk.sent) == 2
