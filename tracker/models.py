"""Typed views of the tracker's answers, parsed once at the client's boundary.

A 200 means the game was played, so a missing, mistyped or absurd field must not turn a played
game into an error: every result field is optional and becomes None when it cannot be read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)


class VoteType(StrEnum):
    ADD = "add"
    SUB = "sub"
    RAND = "rand"


class Game(StrEnum):
    DICE = "dice"
    LUCK = "luck"
    LINK = "link"


class Operation(StrEnum):
    ADD = "ADD"
    SUB = "SUB"


def _none_when_invalid(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        return None


def _parse_tracker_time(value: Any) -> datetime | None:
    """Read `YYYY-MM-DD HH:MM:SS` (UTC, no zone suffix) as an aware datetime."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC)


def _penalty_flag(value: Any) -> bool:
    return value not in (None, 0, False, "0", "", "null")


T = TypeVar("T")
Lenient = Annotated[T | None, WrapValidator(_none_when_invalid)]
# Numbers the bot records or reuses must fit a 64-bit integer (SQLite's INTEGER) or be a finite
# float; beyond that a value is absurd, and absurd fields read as None like unreadable ones.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
# Fields shown in a public message are bounded too, so that a played game's announcement always
# fits Discord's 2,000 characters: a longer text, a larger die or more dice read as None.
MAX_DICE = 20
Face = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
Dice = Annotated[list[Face], Field(max_length=MAX_DICE)]
DiceOps = Annotated[list[Annotated[str, Field(max_length=4)]], Field(max_length=MAX_DICE)]
ShortText = Annotated[str, Field(max_length=200)]
TrackerTime = Annotated[datetime | None, WrapValidator(lambda v, _h: _parse_tracker_time(v))]
PenaltyFlag = Annotated[bool, WrapValidator(lambda v, _h: _penalty_flag(v))]


class GameResult(BaseModel):
    """Fields every game's result shares."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    game: Lenient[ShortText] = None
    operation: Lenient[Operation] = None
    seconds: Lenient[Int64] = None
    multiplier: Lenient[Finite] = None
    dom: Lenient[Int64] = None
    session: Lenient[Int64] = None
    scheduled_end: TrackerTime = Field(default=None, alias="scheduledend_utc")
    time: Lenient[Int64] = None


class LinkResult(GameResult):
    unit: Lenient[ShortText] = None
    int_: Lenient[Int64] = Field(default=None, alias="int")
    penalty: PenaltyFlag = False


class DiceResult(GameResult):
    sum: Lenient[Int64] = None
    dices: Lenient[Dice] = None
    dicesops: Lenient[DiceOps] = None
    calc: Lenient[ShortText] = None


class LuckResult(GameResult):
    int_: Lenient[Int64] = Field(default=None, alias="int")


class ErrorBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    code: Lenient[str] = None
    message: Lenient[str] = None


class Envelope(BaseModel):
    """The wrapper around every answer: `ok` decides between `data` and `error`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ok: bool
    data: dict[str, Any] | None = None
    error: Lenient[ErrorBody] = None
