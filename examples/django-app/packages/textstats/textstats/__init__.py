"""Tiny text statistics backed by a C extension.

The public API is plain Python so callers get type hints and docstrings, while
the counting itself happens in :mod:`textstats._speedups`.  There is
deliberately *no* pure-Python fallback: this package exists to prove that a
compiled dependency made it from the build stage into the runtime image, and a
silent fallback would hide exactly the failure we want to see.
"""

from __future__ import annotations

from textstats import _speedups

__all__ = ["__version__", "reading_time_minutes", "word_count"]

__version__ = "1.0.0"

#: Average adult silent reading speed used by :func:`reading_time_minutes`.
WORDS_PER_MINUTE = 200


def word_count(text: str) -> int:
    """Return the number of whitespace-separated words in ``text``.

    Equivalent to ``len(text.split())`` but computed in C without building the
    intermediate list.
    """
    return _speedups.word_count(text)


def reading_time_minutes(text: str) -> int:
    """Return the estimated reading time of ``text`` in whole minutes (>= 1).

    Rounds up so that even a one-word message reads as "1 minute"; a reading
    time of zero is never what a user wants to see.
    """
    words = word_count(text)
    return max(1, -(-words // WORDS_PER_MINUTE))
