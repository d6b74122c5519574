"""The throttle's rules on their own, on a clock the test moves: what is held back, and how long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.errors import CallHeldBack
from services.throttle import LONGEST_WAIT, CallThrottle
from storage.models import NewCall
from tracker import errors

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class MovingClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def dice(user_id: int = 1) -> NewCall:
    return NewCall(user_id, 5, 6, None, 1001, "dice", True, None, False)


def vote(link_id: int = 9, user_id: int = 1) -> NewCall:
    return NewCall(user_id, 5, 6, link_id, None, "link", False, "add", False)


def held_until(throttle: CallThrottle, call: NewCall) -> datetime | None:
    try:
        throttle.check(call)
    except CallHeldBack as held:
        return held.until
    return None


def refuse(throttle: CallThrottle, call: NewCall, times: int = 1) -> None:
    for _ in range(times):
        throttle.settle(call, errors.Forbidden("not your dom"))


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock()


def test_the_wait_after_refusals_doubles_up_to_a_ceiling(clock: MovingClock) -> None:
    throttle = CallThrottle(clock)
    refuse(throttle, dice(), times=2)
    assert held_until(throttle, dice()) is None  # a typo or two cost nothing
    waits = []
    for _ in range(8):
        refuse(throttle, dice())
        until = held_until(throttle, dice())
        assert until is not None
        waits.append(until - clock.now)
        clock.now = until
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert max(waits) == LONGEST_WAIT
    assert held_until(throttle, dice(user_id=2)) is None  # only that member waits


def test_a_played_game_or_a_quiet_quarter_hour_starts_the_count_over(clock: MovingClock) -> None:
    throttle = CallThrottle(clock)
    refuse(throttle, dice(), times=2)
    throttle.settle(dice(), None)
    refuse(throttle, dice(), times=2)
    assert held_until(throttle, dice()) is None
    clock.now += timedelta(minutes=16)
    refuse(throttle, dice(), times=2)
    assert held_until(throttle, dice()) is None


@pytest.mark.parametrize(
    "error",
    [
        errors.TrackerUnreachable("down"),
        errors.ServerError("500", status=500),
        errors.NoResponse("timeout"),
        errors.InvalidGameRequest("ours"),
    ],
)
def test_what_is_not_the_members_doing_does_not_count(
    clock: MovingClock, error: errors.TrackerError
) -> None:
    throttle = CallThrottle(clock)
    for _ in range(10):
        throttle.settle(dice(), error)
    assert held_until(throttle, dice()) is None


def test_a_429_holds_everyone_back_for_its_retry_after_or_30_seconds(clock: MovingClock) -> None:
    throttle = CallThrottle(clock)
    throttle.settle(vote(), errors.RateLimited("slow", retry_after=90))
    assert held_until(throttle, dice(user_id=7)) == START + timedelta(seconds=90)
    clock.now += timedelta(seconds=90)
    assert held_until(throttle, vote(link_id=3)) is None
    throttle.settle(vote(), errors.RateLimited("slow", retry_after=None))
    assert held_until(throttle, dice(user_id=7)) == clock.now + timedelta(seconds=30)


def test_a_404_holds_back_a_public_vote_s_link_but_counts_against_a_dom_s_session(
    clock: MovingClock,
) -> None:
    throttle = CallThrottle(clock)
    throttle.settle(vote(link_id=9), errors.NotFound("no such link"))
    assert held_until(throttle, vote(link_id=9, user_id=2)) == START + timedelta(minutes=15)
    assert held_until(throttle, vote(link_id=8)) is None
    assert held_until(throttle, dice()) is None  # the voter did nothing wrong
    refuse_404 = errors.NotFound("no such session")
    for _ in range(3):
        throttle.settle(dice(user_id=4), refuse_404)
    assert held_until(throttle, dice(user_id=4)) == START + timedelta(seconds=30)


def test_a_link_the_tracker_keeps_not_knowing_is_asked_about_less_and_less(
    clock: MovingClock,
) -> None:
    throttle = CallThrottle(clock)
    pauses = []
    for _ in range(10):
        throttle.settle(vote(link_id=9), errors.NotFound("no such link"))
        until = held_until(throttle, vote(link_id=9))
        assert until is not None
        pauses.append(until - clock.now)
        clock.now = until
    assert pauses[:3] == [timedelta(minutes=m) for m in (15, 30, 60)]
    assert max(pauses) == timedelta(hours=24)
    throttle.settle(vote(link_id=9), None)  # the owner turned the LINK game back on
    throttle.settle(vote(link_id=9), errors.NotFound("off again"))
    assert held_until(throttle, vote(link_id=9)) == clock.now + timedelta(minutes=15)
