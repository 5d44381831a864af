"""Tests for the HTML list page and the sign-the-guestbook form."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from entries.models import Entry

EntryFactory = Callable[..., Entry]

pytestmark = pytest.mark.django_db


def test_empty_list_page(client: Client) -> None:
    """The page renders with the form, the stylesheet and an empty-state message."""
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "No entries yet" in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert "/static/entries/site.css" in body
    assert response.templates[0].name == "entries/entry_list.html"


def test_list_page_shows_entries_and_word_counts(client: Client, make_entry: EntryFactory) -> None:
    """Entries appear with their author, rendered message and word count."""
    make_entry(name="Linus", message="three little words")
    body = client.get("/").content.decode()
    assert "Linus" in body
    assert "three little words" in body
    assert "3 words" in body
    assert "1 entry" in body


def test_post_creates_entry_and_redirects(client: Client) -> None:
    """A valid POST stores the entry, redirects, and shows a thank-you message."""
    response = client.post("/", {"name": "Margaret", "message": "Hello, world"}, follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert Entry.objects.get().name == "Margaret"
    assert "Thank you for signing the guestbook!" in response.content.decode()


def test_invalid_post_is_rejected(client: Client) -> None:
    """Missing fields re-render the form with 400 and store nothing."""
    response = client.post("/", {"name": "", "message": ""})
    assert response.status_code == 400
    assert Entry.objects.count() == 0
    assert "This field is required." in response.content.decode()


def test_post_without_csrf_token_is_forbidden() -> None:
    """The form is CSRF-protected: a POST without the token gets 403."""
    client = Client(enforce_csrf_checks=True)
    response = client.post("/", {"name": "Mallory", "message": "forged"})
    assert response.status_code == 403
    assert Entry.objects.count() == 0


def test_post_with_csrf_token_is_accepted() -> None:
    """With the token from the rendered form, the same POST succeeds."""
    client = Client(enforce_csrf_checks=True)
    page = client.get("/").content.decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match is not None
    response = client.post("/", {"name": "Alice", "message": "legit", "csrfmiddlewaretoken": match.group(1)})
    assert response.status_code == 302
    assert Entry.objects.filter(name="Alice").exists()


def test_message_html_is_escaped_on_page(client: Client, make_entry: EntryFactory) -> None:
    """A script tag in a message is not rendered as HTML."""
    make_entry(name="<b>Eve</b>", message="<script>alert('x')</script>")
    body = client.get("/").content.decode()
    assert "<script>alert" not in body
    assert "&lt;b&gt;Eve&lt;/b&gt;" in body


def test_other_methods_not_allowed(client: Client) -> None:
    """Only GET and POST are routed to the list view."""
    assert client.delete("/").status_code == 405
