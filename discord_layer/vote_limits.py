"""A vote limit in words, once: the refusal of a vote and the lines of `/account status`.

The rules (`services.voting`, `services.accounts`) return the facts as a `NextVote`.
"""

from __future__ import annotations

from i18n.message import Channel, Message, Moment, Name, msg
from services.limits import NextVote
from services.voting import CONNECT_HINT


def limit_refusal(limit: NextVote) -> Message:
    """Why the vote is refused, one whole sentence per case, with when it reopens (if ever)."""
    name = Name(limit.link.name)
    # None when the link allows one vote: each `if when is None` below is the once-only case,
    # and the type checker then knows the others have a moment to name.
    when = Moment(limit.at, "relative") if limit.at is not None else None
    if limit.anonymous and limit.uncertain:
        if when is None:
            return msg(
                "The tracker never confirmed the last shared vote on {link}, so it counts as "
                "used, and this link takes one vote ever. {hint}",
                link=name,
                hint=CONNECT_HINT,
            )
        return msg(
            "The tracker never confirmed the last shared vote on {link}, so it counts as used. "
            "You can vote again {when}. {hint}",
            link=name,
            when=when,
            hint=CONNECT_HINT,
        )
    if limit.anonymous:
        if when is None:
            return msg(
                "Members without a connected account share one vote on {link}, and it has been "
                "used. {hint}",
                link=name,
                hint=CONNECT_HINT,
            )
        return msg(
            "Members without a connected account share one vote on {link} per 24 hours, and it "
            "has been used. You can vote again {when}. {hint}",
            link=name,
            when=when,
            hint=CONNECT_HINT,
        )
    if limit.uncertain:
        if when is None:
            return msg(
                "The tracker never confirmed your last vote on {link}, so it counts as your one "
                "vote.",
                link=name,
            )
        return msg(
            "The tracker never confirmed your last vote on {link}, so it counts as used. You "
            "can vote again {when}.",
            link=name,
            when=when,
        )
    if when is None:
        return msg("You have already voted on {link}; it allows one vote per person.", link=name)
    return msg(
        "You have already voted on {link} in the last 24 hours. You can vote again {when}.",
        link=name,
        when=when,
    )


def next_vote_line(entry: NextVote) -> Message:
    """One line of `/account status`: when the member may vote on a link again."""
    link, channel = Name(entry.link.name), Channel(entry.link.channel_id)
    if entry.at is None and entry.uncertain:
        return msg(
            "• {link} in {channel}: the tracker never confirmed your last vote, so it "
            "counts; you cannot vote again (one vote per person).",
            link=link,
            channel=channel,
        )
    if entry.at is None:
        return msg(
            "• {link} in {channel}: you cannot vote again (one vote per person).",
            link=link,
            channel=channel,
        )
    when = Moment(entry.at, "relative")
    if entry.uncertain:
        return msg(
            "• {link} in {channel}: the tracker never confirmed your last vote, so it "
            "counts; you can vote again {when}.",
            link=link,
            channel=channel,
            when=when,
        )
    return msg(
        "• {link} in {channel}: you can vote again {when}.", link=link, channel=channel, when=when
    )
