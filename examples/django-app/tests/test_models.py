"""Tests for the Entry model."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from entries.models import Entry

EntryFactory = Callable[..., Entry]

pytestmark = pytest.mark.django_db


def test_entry_is_saved_with_timestamp(make_entry: EntryFactory) -> None:
    """``created`` is filled in automatically on insert."""
    entry = make_entry(name="Grace", message="Hi")
    entry.refresh_from_db()
    assert entry.name == "Grace"
    assert entry.created is not None
    assert str(entry) == "Grace: Hi"


def test_entries_are_ordered_newest_first(make_entry: EntryFactory) -> None:
    """Default ordering is newest first, with the id breaking ties."""
    first = make_entry(message="first")
    second = make_entry(message="second")
    assert list(Entry.objects.all()) == [second, first]


def test_word_count_uses_textstats(make_entry: EntryFactory) -> None:
    """The model exposes the C extension's word count."""
    assert make_entry(message="one two  three\nfour").word_count == 4


def test_message_html_renders_markdown(make_entry: EntryFactory) -> None:
    """Markdown emphasis and links survive rendering."""
    html = make_entry(message="*hi* [link](https://example.org)").message_html()
    assert "<em>hi</em>" in html
    assert '<a href="https://example.org">link</a>' in html


def test_message_html_strips_dangerous_html(make_entry: EntryFactory) -> None:
    """Raw HTML from visitors is removed after Markdown rendering."""
    html = make_entry(message='<script>alert(1)</script> <a href="javascript:x()">x</a>').message_html()
    assert "<script" not in html
    assert "javascript:" not in html
