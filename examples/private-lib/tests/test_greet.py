"""Tests for greetings.greet."""

from __future__ import annotations

import pytest

import greetings


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ada", "Hello, Ada!"),
        ("  Grace  ", "Hello, Grace!"),
        ("", "Hello, world!"),
        ("   ", "Hello, world!"),
        ("Zoë", "Hello, Zoë!"),
    ],
)
def test_greet(name: str, expected: str) -> None:
    """Names are trimmed; a blank name greets the world."""
    assert greetings.greet(name) == expected


def test_version() -> None:
    """The module version matches the tag flask-app pins (v1.0.0)."""
    assert greetings.__version__ == "1.0.0"
