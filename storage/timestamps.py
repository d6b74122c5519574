"""Aware UTC datetimes in Python, integer microseconds since the epoch in SQL: exact, sortable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_db(moment: datetime) -> int:
    """Refuse naive datetimes: a guessed zone would silently shift the ledger."""
    if moment.utcoffset() is None:
        raise ValueError("storage records aware datetimes only")
    return (moment - _EPOCH) // _MICROSECOND


def to_db_or_none(moment: datetime | None) -> int | None:
    return None if moment is None else to_db(moment)


def from_db(value: int) -> datetime:
    return _EPOCH + value * _MICROSECOND


def from_db_or_none(value: int | None) -> datetime | None:
    return None if value is None else from_db(value)
