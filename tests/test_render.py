"""Public game messages and markup pieces, rendered from tracker results without Discord."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from discord_layer.markup import arithmetic, mask, plain, timestamp
from discord_layer.render import game_message, vote_message
from discord_layer.texts import Texts
from i18n.catalogue import Catalogue
from i18n.formats import format_duration
from services.games import GameOutcome
from services.voting import VoteOutcome
from storage.models import ChannelLink, VoteInterval
from tests.seed_examples import SEED_DICE as SEED_DICE_ANSWER
from tests.seed_examples import SEED_LINK as SEED_LINK_ANSWER
from tracker.models import DiceResult, Game, LinkResult, LuckResult

VOTER = 42
MINUS = "\N{MINUS SIGN}"
# The seed's own examples of `data`: 2026-02-10 00:00:00 UTC is 1770681600.
SEED_LINK = json.loads(SEED_LINK_ANSWER)["data"]
SEED_DICE = json.loads(SEED_DICE_ANSWER)["data"]
SEED_END = 1770681600
# Characters that start markup or a mention when Discord sees them unescaped.
ACTIVE = re.compile(r"[@#<>*_~|`\\]")
ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def link(name: str = "main") -> ChannelLink:
    return ChannelLink(
        id=1,
        guild_id=10,
        channel_id=20,
        name=name,
        link_token=SecretStr("link-token"),
        interval=VoteInterval.DAILY,
        anonymous_allowed=True,
        added_by=1,
        added_at=datetime(2026, 1, 1, tzinfo=UTC),
        session_id=None,
    )


TEXTS = Texts(Catalogue.load())


def vote(data: dict[str, Any], *, anonymous: bool = False, locale: str = "en-US") -> str:
    result = LinkResult.model_validate(data)
    outcome = VoteOutcome(link=link(), result=result, anonymous=anonymous)
    return TEXTS.render(vote_message(outcome, VOTER), locale)


def dice(data: dict[str, Any], *, as_dom: bool = False) -> str:
    outcome = GameOutcome(
        game=Game.DICE, as_dom=as_dom, session_id=123, result=DiceResult.model_validate(data)
    )
    return TEXTS.render(game_message(outcome, VOTER), "en-US")


def shown(text: str) -> str:
    """What a member reads: Discord drops the backslash of an escaped punctuation character."""
    return ESCAPED.sub(r"\1", text).replace("\u200b", "")


def active_markup(text: str) -> list[str]:
    """Markup or mention characters Discord would still act on (not escaped by a backslash)."""
    return ACTIVE.findall(ESCAPED.sub("", text))


# Durations and timestamps


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (8100, "2h 15m"),
        (2700, "45m"),
        (3600, "1h"),
        (59, "59s"),
        (0, "0s"),
        (86_400, "1d"),
        (2 * 86_400 + 3 * 3600 + 15 * 60 + 59, "2d 3h 15m"),
        (86_400 + 60, "1d 1m"),
        (-2700, "45m"),
    ],
)
def test_duration_reads_in_days_hours_and_minutes(seconds: int, text: str) -> None:
    assert format_duration(seconds, "en") == text


@pytest.mark.parametrize(
    ("language", "text"),
    [("de", "+2 Tage 3 Std. 15 Min."), ("fr", "+2j 3h 15min"), ("en", "+2d 3h 15m")],
)
def test_duration_follows_the_language(language: str, text: str) -> None:
    assert format_duration(2 * 86_400 + 3 * 3600 + 15 * 60, language, "+") == text


def test_german_vote_message_uses_german_numbers_and_words() -> None:
    text = vote(SEED_LINK, locale="de")
    assert "×1,37" in text
    assert "**+1 Std.**" in text
    assert f"<@{VOTER}>" in text


def test_timestamp_is_a_discord_timestamp_in_the_given_style() -> None:
    end = datetime(2026, 2, 10, tzinfo=UTC)
    assert timestamp(end) == f"<t:{SEED_END}:F>"
    assert timestamp(end, "R") == f"<t:{SEED_END}:R>"


@pytest.mark.parametrize(
    "moment", [datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)]
)
def test_timestamp_outside_discords_range_is_a_plain_date(moment: datetime) -> None:
    text = timestamp(moment, "R")
    assert "<t:" not in text
    assert text.endswith("UTC")


# Vote messages


def test_vote_message_shows_voter_change_multiplier_and_new_end() -> None:
    text = vote(SEED_LINK)
    assert f"<@{VOTER}>" in text
    assert "`main`" in text
    assert "**+1h**" in text
    assert "×1.37" in text
    assert f"<t:{SEED_END}:F>" in text
    assert f"<t:{SEED_END}:R>" in text
    assert "Penalty" not in text


@pytest.mark.parametrize(
    ("operation", "seconds", "change"),
    [
        ("ADD", 8100, "**+2h 15m**"),
        ("SUB", 2700, f"**{MINUS}45m**"),
        ("SUB", 30, f"**{MINUS}30s**"),
    ],
)
def test_vote_message_signs_the_change_by_the_operation(
    operation: str, seconds: int, change: str
) -> None:
    assert change in vote(SEED_LINK | {"operation": operation, "seconds": seconds})


def test_anonymous_vote_says_it_was_the_channels_shared_vote() -> None:
    text = vote(SEED_LINK, anonymous=True)
    assert "voted with the channel's shared vote" in text
    assert f"<@{VOTER}>" in text


def test_penalty_is_unmistakable_and_names_the_voter() -> None:
    text = vote(SEED_LINK | {"penalty": 1, "multiplier": 2.0})
    assert "**Penalty**" in text
    assert f"<@{VOTER}> voted on their own link" in text
    assert "**+1h** ×2" in text


# Game messages


def test_dice_message_shows_the_dice_with_subtracted_ones_and_the_calculation() -> None:
    text = dice(SEED_DICE)
    first, second = text.splitlines()
    assert first.startswith(f"<@{VOTER}> played DICE for session 123: ")
    assert f"**{MINUS}2h** ×1.11" in first
    assert f"<t:{SEED_END}:F>" in first
    assert second == f"🎲 6 {MINUS}1 2 (`+6-1+2` = -3)"


def test_dom_luck_message_says_as_dom() -> None:
    data = {"operation": "ADD", "seconds": 86_400 + 7200, "multiplier": 1.22, "dom": 1}
    outcome = GameOutcome(
        game=Game.LUCK, as_dom=True, session_id=7, result=LuckResult.model_validate(data)
    )
    text = TEXTS.render(game_message(outcome, VOTER), "en-US")
    assert text.startswith(f"<@{VOTER}> played LUCK as dom for session 7: **+1d 2h** ×1.22")


@pytest.mark.parametrize(
    ("data", "expected", "absent"),
    [
        ({}, "no details reported", ["**", "<t:", "×"]),
        ({"seconds": 2700}, "**45m**", ["+", MINUS]),
        ({"operation": "ADD", "multiplier": 1.5}, "×1.5", ["**", "<t:"]),
        ({"operation": "SUB", "seconds": 60}, f"**{MINUS}1m**", ["<t:", "×"]),
    ],
)
def test_missing_fields_still_give_a_sensible_vote_message(
    data: dict[str, Any], expected: str, absent: list[str]
) -> None:
    text = vote(data)
    assert text.startswith(f"🗳️ <@{VOTER}> voted on link `main`: ")
    assert expected in text
    for missing in absent:
        assert missing not in text.split(": ", 1)[1]


def test_dice_without_dice_or_calculation_leaves_those_parts_out() -> None:
    assert "🎲" not in dice({"operation": "ADD", "seconds": 3600})
    text = dice({"dices": [3, 4], "dicesops": ["s"]})
    assert text.splitlines()[1] == f"🎲 {MINUS}3 4"


@pytest.mark.parametrize(
    "data",
    [
        SEED_DICE | {"seconds": -7200},
        SEED_DICE | {"seconds": 10**15, "multiplier": 1e308},
        SEED_DICE | {"scheduledend_utc": "9999-12-31 23:59:59"},
        SEED_DICE | {"scheduledend_utc": "0001-01-01 00:00:00"},
        SEED_DICE | {"scheduledend_utc": "2026-13-45 99:00:00", "operation": "MUL"},
        SEED_DICE | {"dices": list(range(1, 500)), "dicesops": ["s"] * 1000, "sum": None},
        SEED_DICE | {"dices": "six", "dicesops": 5, "calc": ["x"], "multiplier": "big"},
        SEED_DICE | {"calc": "@everyone <@123> **x**" * 20},
    ],
)
def test_absurd_values_never_crash_and_stay_short(data: dict[str, Any]) -> None:
    text = dice(data)
    assert text.startswith(f"<@{VOTER}> played DICE for session 123")
    assert len(text) < 2000
    assert "@everyone" not in text
    assert "<@123>" not in text


def test_year_9999_end_is_shown_as_a_date() -> None:
    text = vote(SEED_LINK | {"scheduledend_utc": "9999-12-31 23:59:59"})
    assert "9999-12-31 23:59 UTC" in text
    assert "<t:" not in text


# Text from members or the tracker


@pytest.mark.parametrize(
    "text",
    [
        "@everyone look",
        "@here",
        "<@123>",
        "<@!123456789012345678>",
        "<@&123456789012345678>",
        "<#123456789012345678>",
        "**bold** _it_ __under__ ~~strike~~ ||spoiler|| `code`",
        "# heading",
        "> quoted",
        "a \\ backslash",
        "[a link](https://example.com)",
    ],
)
def test_plain_neutralises_mentions_and_markdown_but_reads_the_same(text: str) -> None:
    cleaned = plain(text)
    assert active_markup(cleaned) == []
    assert shown(cleaned) == text


def test_plain_flattens_control_characters_and_bounds_the_length() -> None:
    assert plain("one\ntwo\x00three") == "one two three"
    assert plain("   ") == "…"
    long = plain("x" * 500, limit=50)
    assert len(long) == 50
    assert long.endswith("…")


def test_mask_keeps_only_the_last_four_characters() -> None:
    assert mask("abcdefghijklmnop") == "…mnop"
    assert mask("short") == "…"


def test_a_calculation_keeps_only_arithmetic_and_an_empty_one_is_left_out() -> None:
    assert arithmetic("+6-1+2 `@everyone`") == "+6-1+2"
    text = dice(SEED_DICE | {"calc": "@everyone"})
    assert "``" not in text
    assert "(`" not in text


def test_plain_never_ends_in_a_lone_escape() -> None:
    text = plain("a" * 199 + "*", limit=200)
    assert not text.endswith("\\")
    assert text.endswith("\\*")
