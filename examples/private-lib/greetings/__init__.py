"""greetings: a tiny pure-Python library that plays a company's private package.

It has no dependencies so that installing it from a private git repository
tests exactly one thing: fetching the source over git+ssh.
"""

from __future__ import annotations

__all__ = ["__version__", "greet"]

__version__ = "1.0.0"


def greet(name: str) -> str:
    """Return a greeting for ``name``.

    Surrounding whitespace is ignored and an empty name greets the world, so
    the function never produces an awkward ``"Hello, !"``.
    """
    cleaned = name.strip()
    return f"Hello, {cleaned or 'world'}!"
