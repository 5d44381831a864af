"""The guestbook depends on the compiled textstats extension, not a fallback."""

from __future__ import annotations

import importlib.machinery

import textstats
from textstats import _speedups


def test_speedups_is_a_compiled_extension() -> None:
    """The import must resolve to a shared library built from C."""
    assert _speedups.__file__ is not None
    assert _speedups.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_word_count() -> None:
    """Whitespace of all kinds separates words, runs of it count once."""
    assert textstats.word_count("") == 0
    assert textstats.word_count("  Hallo   Welt \n wie\tgeht's ") == 4
    assert textstats.word_count("Grüße aus Köln") == 3
