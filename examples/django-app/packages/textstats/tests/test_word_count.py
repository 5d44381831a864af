"""Tests for the textstats C extension and its Python wrapper."""

from __future__ import annotations

import pytest

import textstats
from textstats import _speedups


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "one",
        "two words",
        "  leading and trailing  ",
        "tabs\tand\nnewlines\r\nmixed",
        "unicode: grüße, 日本語 テキスト",
        "non-breaking\u00a0space and em\u2003space",
        "x" * 10_000,
        " ".join(["w"] * 5_000),
    ],
)
def test_word_count_matches_str_split(text: str) -> None:
    """The C implementation must agree with Python's own definition of words."""
    assert textstats.word_count(text) == len(text.split())


def test_word_count_is_compiled() -> None:
    """The speedup must really be a compiled extension, not a Python module."""
    assert _speedups.__file__ is not None
    assert _speedups.__file__.endswith((".so", ".pyd"))


def test_word_count_rejects_non_str() -> None:
    """Bytes and other types are rejected instead of being guessed at."""
    with pytest.raises(TypeError, match="must be str"):
        _speedups.word_count(b"bytes are not text")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("words", "minutes"),
    [(0, 1), (1, 1), (200, 1), (201, 2), (1000, 5)],
)
def test_reading_time_rounds_up(words: int, minutes: int) -> None:
    """Reading time is never zero and rounds partial minutes up."""
    assert textstats.reading_time_minutes(" ".join(["w"] * words)) == minutes


def test_version() -> None:
    """The wrapper exposes the same version as the project metadata."""
    assert textstats.__version__ == "1.0.0"
