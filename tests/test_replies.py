"""Splitting long private answers, and bounding public ones, into messages Discord accepts."""

from __future__ import annotations

from discord_layer.replies import MESSAGE_LIMIT, pages, within_limit


def test_pages_keep_whole_lines_under_the_limit() -> None:
    lines = [f"line {n} " + "x" * 50 for n in range(100)]
    result = pages(lines, limit=500)
    assert all(len(page) <= 500 for page in result)
    assert "\n".join(result).split("\n") == lines


def test_a_single_overlong_line_is_cut_to_the_limit() -> None:
    assert pages(["y" * 3000], limit=1900) == ["y" * 1900]
    assert pages([]) == []


def test_a_public_message_keeps_its_first_lines_within_the_limit() -> None:
    first = "<@1> played DICE for session 7: **+1h** ×1.5."
    assert within_limit(first) == first
    fitted = within_limit("\n".join([first, "a" * 1500, "b" * 1500]))
    assert fitted == first + "\n" + "a" * 1500
    cut = within_limit("z" * 5000)
    assert len(cut) == MESSAGE_LIMIT
    assert cut.endswith("…")
