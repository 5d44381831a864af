"""HTML and JSON views for guestbook entries."""

from __future__ import annotations

import structlog
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from rest_framework import generics

from entries.filters import EntryFilter
from entries.forms import EntryForm
from entries.models import Entry
from entries.serializers import EntrySerializer

log = structlog.get_logger(__name__)

#: The page shows the most recent entries only, to keep it fast as it grows.
PAGE_SIZE = 50


@require_http_methods(["GET", "POST"])
def entry_list(request: HttpRequest) -> HttpResponse:
    """Show the latest entries with a form; on POST, add an entry.

    A successful POST redirects back (post/redirect/get) so reloading the
    page does not submit twice.  An invalid form re-renders with 400.
    """
    if request.method == "POST":
        form = EntryForm(request.POST)
        if form.is_valid():
            entry = form.save()
            log.info("entry_created", entry_id=entry.pk, words=entry.word_count)
            messages.success(request, _("Thank you for signing the guestbook!"))
            return HttpResponseRedirect(reverse("entries:list"))
        status = 400
    else:
        form = EntryForm()
        status = 200

    context = {
        "form": form,
        "entries": Entry.objects.all()[:PAGE_SIZE],
        "total": Entry.objects.count(),
    }
    return render(request, "entries/entry_list.html", context, status=status)


class EntryListAPIView(generics.ListAPIView):
    """``GET /api/entries``: all entries as a JSON list, newest first.

    Supports ``?name=<exact name>`` and ``?since=<date>``.
    """

    queryset = Entry.objects.all()
    serializer_class = EntrySerializer
    filterset_class = EntryFilter
