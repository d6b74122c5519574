"""Result models: a 200 means the game was played, so parsing never raises and only drops what
it cannot read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.seed_examples import DOCUMENTED_RESULT_FIELDS, SEED_DICE, SEED_LINK, SEED_LUCK
from tracker.models import (
    DiceResult,
    Envelope,
    ErrorBody,
    GameResult,
    LinkResult,
    LuckResult,
    Operation,
)

MODELS: list[type[GameResult]] = [LinkResult, DiceResult, LuckResult]
BASE_FIELDS = {
    "game": None,
    "operation": None,
    "seconds": None,
    "multiplier": None,
    "dom": None,
    "session": None,
    "scheduled_end": None,
    "time": None,
}
EMPTY: dict[type[GameResult], dict[str, Any]] = {
    LinkResult: {**BASE_FIELDS, "unit": None, "int_": None, "penalty": False},
    DiceResult: {**BASE_FIELDS, "sum": None, "dices": None, "dicesops": None, "calc": None},
    LuckResult: {**BASE_FIELDS, "int_": None},
}


def seed_data(raw: str) -> dict[str, Any]:
    envelope = Envelope.model_validate_json(raw)
    assert envelope.ok is True
    assert envelope.error is None
    assert envelope.data is not None
    return envelope.data


# -- the seed examples -----------------------------------------------------------------------


def test_seed_link_example_parses_exactly() -> None:
    result = LinkResult.model_validate(seed_data(SEED_LINK))
    assert result.model_dump() == {
        "game": "link",
        "operation": Operation.ADD,
        "seconds": 3600,
        "multiplier": 1.37,
        "dom": 0,
        "session": 123,
        "scheduled_end": datetime(2026, 2, 10, tzinfo=UTC),
        "time": 3600,
        "unit": "hour",
        "int_": 1,
        "penalty": False,
    }
    assert result.scheduled_end is not None
    assert result.scheduled_end.tzinfo is UTC


def test_seed_dice_example_parses_exactly() -> None:
    result = DiceResult.model_validate(seed_data(SEED_DICE))
    assert result.model_dump() == {
        "game": "dice",
        "operation": Operation.SUB,
        "seconds": 7200,
        "multiplier": 1.11,
        "dom": 0,
        "session": 123,
        "scheduled_end": datetime(2026, 2, 10, tzinfo=UTC),
        "time": 7200,
        "sum": -3,
        "dices": [6, 1, 2],
        "dicesops": ["", "s", ""],
        "calc": "+6-1+2",
    }


def test_seed_luck_example_parses_exactly() -> None:
    result = LuckResult.model_validate(seed_data(SEED_LUCK))
    assert result.model_dump() == {
        "game": "luck",
        "operation": Operation.ADD,
        "seconds": 86400,
        "multiplier": 1.22,
        "dom": 1,
        "session": 123,
        "scheduled_end": datetime(2026, 2, 11, tzinfo=UTC),
        "time": 86400,
        "int_": 1,
    }


def test_seed_error_envelope_parses() -> None:
    raw = '{"ok": false, "error": {"code":"COOLDOWN", "message":"Wait."}, "meta":{"version":2}}'
    envelope = Envelope.model_validate_json(raw)
    assert (envelope.ok, envelope.data) == (False, None)
    assert envelope.error == ErrorBody(code="COOLDOWN", message="Wait.")


# -- missing, extra and wrong-typed fields ---------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_missing_fields_are_none(model: type[GameResult]) -> None:
    assert model.model_validate({}).model_dump() == EMPTY[model]


@pytest.mark.parametrize("model", MODELS)
def test_extra_fields_are_ignored(model: type[GameResult]) -> None:
    data = {"game": "dice", "secret": "x", "nested": {"a": [1, 2]}, "ok": True}
    result = model.model_validate(data)
    assert result.model_dump() == {**EMPTY[model], "game": "dice"}
    assert not hasattr(result, "secret")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("game", 7),
        ("game", ["link"]),
        ("operation", "add"),
        ("operation", "MUL"),
        ("operation", 1),
        ("operation", None),
        ("seconds", "an hour"),
        ("seconds", 1.5),
        ("seconds", []),
        ("seconds", {"value": 1}),
        ("multiplier", "x1.3"),
        ("multiplier", [1.3]),
        ("dom", "dom"),
        ("session", "abc"),
        ("session", 12.5),
        ("time", {}),
        ("scheduledend_utc", 1770681600),
    ],
)
@pytest.mark.parametrize("model", MODELS)
def test_wrong_typed_common_fields_become_none(
    model: type[GameResult], field: str, value: Any
) -> None:
    good = json.loads(SEED_DICE)["data"]
    result = model.model_validate({**good, field: value})
    name = "scheduled_end" if field == "scheduledend_utc" else field
    assert getattr(result, name) is None
    assert result.game == (None if field == "game" else "dice")
    assert result.session == (None if field == "session" else 123)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dices", [6, "six", 2]),
        ("dices", [6, None, 2]),
        ("dices", [6, 1.5, 2]),
        ("dices", "6,1,2"),
        ("dices", {"0": 6}),
        ("dicesops", ["", 1, ""]),
        ("dicesops", "s"),
        ("sum", "minus three"),
        ("calc", 42),
        # Too large for a public message: read as missing, the game still counts as played.
        ("dices", [6] * 21),
        ("dices", [6, 10**7, 2]),
        ("dicesops", [""] * 21),
        ("dicesops", ["", "s" * 5, ""]),
        ("sum", 2**64),
        ("calc", "+1" * 101),
    ],
)
def test_wrong_typed_dice_fields_become_none(field: str, value: Any) -> None:
    data = {**json.loads(SEED_DICE)["data"], field: value}
    result = DiceResult.model_validate(data)
    assert getattr(result, field) is None
    assert (result.operation, result.seconds, result.session) == (Operation.SUB, 7200, 123)


@pytest.mark.parametrize(
    ("field", "value", "attribute"),
    [("unit", 3600, "unit"), ("int", "one", "int_"), ("int", [1], "int_")],
)
def test_wrong_typed_link_fields_become_none(field: str, value: Any, attribute: str) -> None:
    data = {**json.loads(SEED_LINK)["data"], field: value}
    result = LinkResult.model_validate(data)
    assert getattr(result, attribute) is None
    assert (result.seconds, result.multiplier) == (3600, 1.37)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, True),
        ("1", True),
        (True, True),
        (None, False),
        (0, False),
        ("0", False),
        (False, False),
        ("", False),
    ],
)
def test_penalty_flag(value: Any, expected: bool) -> None:
    data = {**json.loads(SEED_LINK)["data"], "penalty": value}
    assert LinkResult.model_validate(data).penalty is expected


def test_missing_penalty_is_false() -> None:
    data = json.loads(SEED_LINK)["data"]
    del data["penalty"]
    assert LinkResult.model_validate(data).penalty is False


# -- absurd values ---------------------------------------------------------------------------


def test_negative_seconds_are_kept_as_sent() -> None:
    """Readable, so not dropped: whoever renders it decides what a negative amount means."""
    data = {**json.loads(SEED_LUCK)["data"], "seconds": -86400, "time": -1}
    result = LuckResult.model_validate(data)
    assert (result.seconds, result.time, result.operation) == (-86400, -1, Operation.ADD)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9999-12-31 23:59:59", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("0001-01-01 00:00:00", datetime(1, 1, 1, tzinfo=UTC)),
        (" 2026-02-10 00:00:00 ", datetime(2026, 2, 10, tzinfo=UTC)),
        ("10000-01-01 00:00:00", None),
        ("2026-02-30 00:00:00", None),
        ("2026-02-10 24:00:00", None),
        ("2026-02-10T00:00:00Z", None),
        ("2026-02-10 00:00:00+02:00", None),
        ("2026-02-10", None),
        ("", None),
        ("null", None),
        (None, None),
        ([2026, 2, 10], None),
    ],
)
@pytest.mark.parametrize("model", MODELS)
def test_scheduled_end(model: type[GameResult], text: Any, expected: datetime | None) -> None:
    data = {**json.loads(SEED_DICE)["data"], "scheduledend_utc": text}
    result = model.model_validate(data)
    assert result.scheduled_end == expected
    if expected is not None:
        assert result.scheduled_end is not None
        assert result.scheduled_end.tzinfo is UTC
    assert result.session == 123


def test_huge_numbers_are_read_without_overflow() -> None:
    """Numbers the bot stores must fit SQLite's 64-bit INTEGER; beyond that they are absurd."""
    data = {"seconds": 10**30, "multiplier": 1e308, "session": 2**70, "dices": [10**20]}
    result = DiceResult.model_validate(data)
    assert (result.seconds, result.multiplier, result.session) == (None, 1e308, None)
    assert result.dices is None  # no die has that many faces (bounded for the public message)
    largest = DiceResult.model_validate({"seconds": -(2**63), "session": 2**63 - 1})
    assert (largest.seconds, largest.session) == (-(2**63), 2**63 - 1)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_multiplier_that_is_not_a_number_reads_as_none(value: str) -> None:
    envelope = Envelope.model_validate_json(f'{{"ok": true, "data": {{"multiplier": {value}}}}}')
    assert envelope.data is not None
    assert LinkResult.model_validate(envelope.data).multiplier is None


# -- envelopes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"<!DOCTYPE html><html></html>",
        b"[]",
        b"null",
        b'{"data": {}}',
        b'{"ok": true, "data": [1, 2]}',
        b'{"ok": "maybe"}',
        b'{"ok": true, "data": {"game": "link"',
        b"\xff\xfe{}",
    ],
)
def test_unreadable_envelopes_raise_only_validation_errors(raw: bytes) -> None:
    """The client maps a ValidationError to a status-based error; anything else would escape."""
    with pytest.raises(ValidationError):
        Envelope.model_validate_json(raw)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"code": "X", "message": "Because."}, ErrorBody(code="X", message="Because.")),
        ({"code": 5, "message": ["a"]}, ErrorBody(code=None, message=None)),
        ("a string", None),
        (None, None),
    ],
)
def test_error_body_is_lenient(error: Any, expected: ErrorBody | None) -> None:
    envelope = Envelope.model_validate({"ok": False, "error": error})
    assert envelope.error == expected


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(DOCUMENTED_RESULT_FIELDS)


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(FIELD_NAMES | st.text(max_size=8), JSON_VALUES, max_size=15))
def test_any_json_object_parses_into_every_model(data: dict[str, Any]) -> None:
    for model in MODELS:
        result = model.model_validate(data)
        assert result.operation is None or isinstance(result.operation, Operation)
        assert result.seconds is None or type(result.seconds) is int
        assert result.session is None or type(result.session) is int
        assert result.multiplier is None or isinstance(result.multiplier, float)
        assert result.scheduled_end is None or result.scheduled_end.tzinfo is UTC
    dice = DiceResult.model_validate(data)
    assert dice.dices is None or all(type(d) is int for d in dice.dices)
    assert type(LinkResult.model_validate(data).penalty) is bool


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_give_an_envelope_or_a_validation_error(raw: bytes) -> None:
    try:
        envelope = Envelope.model_validate_json(raw)
    except ValidationError:
        return
    assert isinstance(envelope.ok, bool)
    assert envelope.data is None or isinstance(envelope.data, dict)
