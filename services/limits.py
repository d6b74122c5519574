"""When a voter may vote on a link again: the facts a refusal and `/account status` are worded from.

The rules decide these facts; the Discord layer words them once (`discord_layer/vote_limits.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.models import ChannelLink


@dataclass(frozen=True)
class NextVote:
    link: ChannelLink
    at: datetime | None  # None: the link allows one vote and it is used
    uncertain: bool = False  # the tracker never said whether that vote counted
    anonymous: bool = False  # the channel's shared anonymous vote, not the member's own
