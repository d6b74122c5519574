"""Splitting long private answers into messages Discord accepts."""

from __future__ import annotations

from cogs.replies import pages


def test_pages_keep_whole_lines_under_the_limit() -> None:
    lines = [f"line {n} " + "x" * 50 for n in range(100)]
    result = pages(lines, limit=500)
    assert all(len(page) <= 500 for page in result)
    assert "\n".join(result).split("\n") == lines


def test_a_single_overlong_line_is_cut_to_the_limit() -> None:
    assert pages(["y" * 3000], limit=1900) == ["y" * 1900]
    assert pages([]) == []
