"""The entries app: guestbook entries, their HTML pages and JSON API."""
