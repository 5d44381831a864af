"""Data model for guestbook entries."""

from __future__ import annotations

import bleach
import markdown
from django.db import models
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

import textstats

#: HTML that rendered Markdown may keep; everything else is escaped by bleach,
#: because messages come from anonymous visitors.
ALLOWED_TAGS = frozenset({"a", "p", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "br"})
ALLOWED_ATTRIBUTES = {"a": ["href", "title"]}


class Entry(models.Model):
    """A single message left in the guestbook."""

    name = models.CharField(_("name"), max_length=100)
    message = models.TextField(_("message"), max_length=2000)
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        # Newest first; the id breaks ties between entries created in the same
        # clock tick so the ordering is deterministic.
        ordering = ["-created", "-id"]
        verbose_name = _("entry")
        verbose_name_plural = _("entries")

    def __str__(self) -> str:
        return f"{self.name}: {self.message[:40]}"

    @property
    def word_count(self) -> int:
        """Number of words in the message, counted by the compiled textstats extension."""
        return textstats.word_count(self.message)

    def message_html(self) -> SafeString:
        """Render the message as Markdown, then sanitise it.

        Sanitising after rendering (not before) is what makes this safe: the
        Markdown renderer passes raw HTML through, bleach removes it.
        """
        rendered = markdown.markdown(self.message, extensions=["nl2br"])
        cleaned = bleach.clean(
            rendered,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols={"http", "https", "mailto"},
            strip=True,
        )
        return mark_safe(cleaned)  # noqa: S308 - sanitised by bleach just above
