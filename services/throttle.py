"""How often the bot lets a member, a link or anyone at all make it call the tracker.

Every call leaves from the bot's one address, so the tracker blames the bot for one member's
hammering. The state lives in memory, per process: a restart forgets the waits (at worst a few
more requests reach the tracker), and several processes each keep their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from i18n.message import Message, Moment, msg
from services.clock import Clock
from services.errors import CallHeldBack
from storage.models import NewCall
from tracker import errors

log = logging.getLogger(__name__)

FREE_REFUSALS = 3  # refusals in a row before a member waits: a typo or two cost nothing
FIRST_WAIT = timedelta(seconds=30)  # doubles with each further refusal
LONGEST_WAIT = timedelta(minutes=15)
REFUSAL_MEMORY = timedelta(minutes=15)  # quiet this long after a refusal: the count starts over
UNKNOWN_LINK_PAUSE = timedelta(minutes=15)  # doubles with each further 404 on the link
LONGEST_LINK_PAUSE = timedelta(hours=24)
PAUSE_WITHOUT_RETRY_AFTER = timedelta(seconds=30)
PRUNE_ABOVE = 1_000  # entries kept before expired ones are dropped

# `{when}` is when the wait ends (`_held_back` adds it), shown relative: "in 5 minutes".
TRACKER_PAUSED = msg("The tracker asked the bot to wait, so nothing was sent. Try again {when}.")
LINK_PAUSED = msg(
    "The tracker does not know this link, so the bot sends no votes on it for now; "
    "a moderator should check it. Try again {when}."
)
MEMBER_WAITS = msg(
    "The tracker refused your last requests, so the bot waits before sending more of yours. "
    "Try again {when}."
)


def _doubled(first: timedelta, times: int, longest: timedelta) -> timedelta:
    return min(first * (1 << min(times, 16)), longest)


@dataclass
class _Refusals:
    count: int
    last: datetime

    def wait_until(self) -> datetime | None:
        if self.count < FREE_REFUSALS:
            return None
        return self.last + _doubled(FIRST_WAIT, self.count - FREE_REFUSALS, LONGEST_WAIT)


@dataclass
class _UnknownLink:
    count: int
    until: datetime


class CallThrottle:
    """Holds calls back after a 429 (everyone), a 404 on a link (that link) or repeated
    refusals (that member); learns from each answer the tracker gives."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._paused_until: datetime | None = None
        self._unknown_links: dict[int, _UnknownLink] = {}
        self._refusals: dict[int, _Refusals] = {}

    def check(self, call: NewCall) -> None:
        """Refuse a call the tracker should not see now, before anything is written or sent."""
        now = self._clock()
        if self._paused_until is not None and now < self._paused_until:
            raise _held_back(TRACKER_PAUSED, self._paused_until)
        link = self._unknown_links.get(call.link_id) if call.link_id is not None else None
        if link is not None and now < link.until:
            raise _held_back(LINK_PAUSED, link.until)
        refusals = self._refusals.get(call.user_id)
        member_until = refusals.wait_until() if refusals is not None else None
        if member_until is not None and now < member_until:
            raise _held_back(MEMBER_WAITS, member_until)

    def settle(self, call: NewCall, error: errors.TrackerError | None) -> None:
        """Learn from the answer: None when the game was played."""
        now = self._clock()
        if error is None:
            self._refusals.pop(call.user_id, None)
            if call.link_id is not None:
                self._unknown_links.pop(call.link_id, None)
        elif isinstance(error, errors.RateLimited):
            wait = (
                timedelta(seconds=error.retry_after)
                if error.retry_after is not None
                else PAUSE_WITHOUT_RETRY_AFTER
            )
            self._paused_until = max(self._paused_until or now, now + wait)
            log.warning("the tracker asked to slow down: no calls for %g s", wait.total_seconds())
        elif isinstance(error, errors.NotFound) and (link_id := _public_vote_link(call)):
            self._pause_link(link_id, now)  # not the voter's fault: no refusal of theirs
        elif isinstance(error, errors.TrackerRefused) and not isinstance(
            error, errors.TrackerUnreachable
        ):
            self._count_refusal(call.user_id, now)
        self._prune(now)

    def _pause_link(self, link_id: int, now: datetime) -> None:
        """A wrong token (or a LINK game turned off): asked again after 15 min, 30, 60, … 24 h,
        so moderators see its 404 a few times a day at most, however often members press."""
        earlier = self._unknown_links.get(link_id)
        count = earlier.count + 1 if earlier is not None else 1
        pause = _doubled(UNKNOWN_LINK_PAUSE, count - 1, LONGEST_LINK_PAUSE)
        self._unknown_links[link_id] = _UnknownLink(count=count, until=now + pause)
        log.warning("link %d: the tracker does not know it; no votes for %s", link_id, pause)

    def _count_refusal(self, user_id: int, now: datetime) -> None:
        refusals = self._refusals.get(user_id)
        if refusals is None or now - refusals.last > REFUSAL_MEMORY:
            self._refusals[user_id] = _Refusals(count=1, last=now)
        else:
            refusals.count += 1
            refusals.last = now

    def _prune(self, now: datetime) -> None:
        if len(self._unknown_links) > PRUNE_ABOVE:
            self._unknown_links = {
                k: v for k, v in self._unknown_links.items() if now - v.until < LONGEST_LINK_PAUSE
            }
        if len(self._refusals) > PRUNE_ABOVE:
            self._refusals = {
                k: v for k, v in self._refusals.items() if now - v.last <= REFUSAL_MEMORY
            }


def _public_vote_link(call: NewCall) -> int | None:
    """The link a public vote went to; None for any other game (a 404 then means the session)."""
    return None if call.dom else call.link_id


def _held_back(text: Message, until: datetime) -> CallHeldBack:
    return CallHeldBack(replace(text, params={"when": Moment(until, "relative")}), until=until)
