"""Turns to IDENTIFY, taken in the database so processes that connect together keep apart."""

from __future__ import annotations

import asyncio

import pytest

from storage.interface import Storage
from tests.conftest import OpenStorage

SPACING = 60.0  # far longer than a test runs: a slot's wait is never eaten up by the test
ROUNDING = 0.5  # the clock ticks between the statement and the answer


async def test_an_idle_bucket_s_slot_starts_now_and_the_next_one_a_spacing_later(
    db: Storage,
) -> None:
    assert await db.take_identify_slot(0, spacing=SPACING) == 0
    second = await db.take_identify_slot(0, spacing=SPACING)
    third = await db.take_identify_slot(0, spacing=SPACING)

    assert second == pytest.approx(SPACING, abs=ROUNDING)
    assert third == pytest.approx(2 * SPACING, abs=ROUNDING)


async def test_buckets_take_turns_of_their_own(db: Storage) -> None:
    assert await db.take_identify_slot(0, spacing=SPACING) == 0
    assert await db.take_identify_slot(1, spacing=SPACING) == 0
    assert await db.take_identify_slot(1, spacing=SPACING) == pytest.approx(SPACING, abs=ROUNDING)


async def test_a_slot_whose_turn_has_passed_is_not_waited_for(db: Storage) -> None:
    """Only the slot before counts, and only for its spacing: a process that starts after it
    connects at once."""
    await db.take_identify_slot(0, spacing=SPACING)
    assert await db.take_identify_slot(0, spacing=0) == 0


async def test_processes_asking_at_once_get_one_slot_each(
    db: Storage, open_storage: OpenStorage
) -> None:
    async with open_storage() as other:
        waits = await asyncio.gather(
            *((db if n % 2 else other).take_identify_slot(0, spacing=SPACING) for n in range(6))
        )

    for n, wait in enumerate(sorted(waits)):
        assert wait == pytest.approx(n * SPACING, abs=ROUNDING)
