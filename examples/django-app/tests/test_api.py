"""Tests for the JSON API at /api/entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client

from entries.models import Entry

EntryFactory = Callable[..., Entry]

pytestmark = pytest.mark.django_db


def test_api_empty_list(client: Client) -> None:
    """No entries means an empty JSON list, not an error or a paginated object."""
    response = client.get("/api/entries")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == []


def test_api_lists_entries_newest_first(client: Client, make_entry: EntryFactory) -> None:
    """Entries are serialised with their word count, newest first."""
    older = make_entry(name="Ada", message="first post")
    newer = make_entry(name="Grace", message="second post here")
    data = client.get("/api/entries").json()
    assert [item["id"] for item in data] == [newer.pk, older.pk]
    assert data[0] == {
        "id": newer.pk,
        "name": "Grace",
        "message": "second post here",
        "created": data[0]["created"],
        "word_count": 3,
    }
    assert dt.datetime.fromisoformat(data[0]["created"].replace("Z", "+00:00")).tzinfo is not None


def test_api_filters_by_name(client: Client, make_entry: EntryFactory) -> None:
    """``?name=`` filters by exact author name (django-filter)."""
    make_entry(name="Ada")
    make_entry(name="Grace")
    data = client.get("/api/entries", {"name": "Grace"}).json()
    assert [item["name"] for item in data] == ["Grace"]


def test_api_filters_by_since(client: Client, make_entry: EntryFactory) -> None:
    """``?since=`` accepts dates that dateutil understands."""
    old = make_entry(message="old")
    Entry.objects.filter(pk=old.pk).update(created=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    make_entry(message="new")
    data = client.get("/api/entries", {"since": "1 Jan 2021"}).json()
    assert [item["message"] for item in data] == ["new"]


def test_api_rejects_bad_since(client: Client) -> None:
    """An unparsable date is a 400 with an explanation, not a 500."""
    response = client.get("/api/entries", {"since": "not a date"})
    assert response.status_code == 400
    assert "since" in response.json()


def test_api_is_read_only(client: Client) -> None:
    """Entries are created through the HTML form only."""
    response = client.post("/api/entries", {"name": "x", "message": "y"}, content_type="application/json")
    assert response.status_code == 405
