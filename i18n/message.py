"""Texts as values: the English source (the catalogue's key) and named parameters, not yet words.

Services return and raise these; the Discord layer renders them in the reader's language. A
parameter says what it is (a member, a moment, a duration), never how Discord shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class Message:
    """One whole sentence (or a few) of the catalogue with its parameters.

    `plural` and `count` select a plural form; `{count}` is then available to the text too.
    """

    text: str
    params: Mapping[str, Param] = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None


def msg(text: str, /, **params: Param) -> Message:
    """A catalogue message; the extractor finds `text` by this function's name."""
    return Message(text, params)


def msg_n(singular: str, plural: str, count: int, /, **params: Param) -> Message:
    """A message whose wording depends on a number, in every language's own plural forms."""
    return Message(singular, params, plural=plural, count=count)


def followed_by(first: Message, second: Message) -> Message:
    """Two whole messages in a row: an explanation and then advice, a post and then a count."""
    # TRANSLATORS: two sentences in a row; change only what your language needs between them.
    return msg("{first} {second}", first=first, second=second)


@dataclass(frozen=True)
class Member:
    """A Discord member, shown as a mention."""

    id: int


@dataclass(frozen=True)
class Channel:
    id: int


@dataclass(frozen=True)
class Role:
    id: int


@dataclass(frozen=True)
class Moment:
    """A point in time in the reader's zone: `full` date and time with the weekday, `short`
    without it (for lists), or `relative` ("in 3 hours")."""

    at: datetime
    style: Literal["full", "short", "relative"] = "full"


@dataclass(frozen=True)
class Duration:
    """A length of time; `sign` "+" or "-" marks time added or removed."""

    seconds: int
    sign: Literal["", "+", "-"] = ""


@dataclass(frozen=True)
class Number:
    """A decimal number shown with the language's separators (a multiplier, a count)."""

    value: float


@dataclass(frozen=True)
class Name:
    """A short identifier we checked ourselves (a link name), shown as code."""

    text: str


@dataclass(frozen=True)
class Names:
    """Several names, listed the language's way (`a, b and c`)."""

    texts: tuple[str, ...]


@dataclass(frozen=True)
class Command:
    """A slash command (`vote add`), shown as a mention a member can click to start typing it.

    `option` is a value to type after it, shown beside the mention (`/help account`): Discord's
    mentions cannot carry option values.
    """

    name: str
    option: str | None = None


@dataclass(frozen=True)
class Listing:
    """Several messages or values (channels), listed the language's way (`a, b and c`)."""

    items: tuple[Param, ...]


@dataclass(frozen=True)
class Term:
    """A name of ours that every language keeps as it is (a game: DICE), inserted unchanged."""

    text: str


@dataclass(frozen=True)
class Outside:
    """Text from members or the tracker: shown inert (no markup, no mentions) and bounded."""

    text: str
    limit: int = 200


# `int` is an identifier (a session id): shown as its digits, never with separators.
Param = (
    Message
    | Member
    | Channel
    | Role
    | Moment
    | Duration
    | Number
    | Name
    | Names
    | Command
    | Listing
    | Term
    | Outside
    | int
)
