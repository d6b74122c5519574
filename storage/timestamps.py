"""Aware UTC datetimes in Python, integer microseconds since the epoch in SQL: exact, sortable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

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


MICROSECONDS_PER_DAY = 86_400_000_000


def utc_day_number(moment: datetime) -> int:
    """The UTC day `moment` falls on, as days since the epoch: the key of a link's daily tally."""
    return to_db(moment) // MICROSECONDS_PER_DAY


def day_of_number(day: int) -> date:
    return (_EPOCH + timedelta(days=day)).date()
