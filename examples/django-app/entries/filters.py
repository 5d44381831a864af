"""Query filters for the JSON API, built on django-filter."""

from __future__ import annotations

import datetime as dt

import django_filters
from dateutil import parser as date_parser
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from entries.models import Entry


class EntryFilter(django_filters.FilterSet):
    """Filter entries by exact ``name`` and by ``since`` (any date dateutil can parse)."""

    since = django_filters.CharFilter(method="filter_since")

    class Meta:
        model = Entry
        fields = ["name"]

    def filter_since(self, queryset: QuerySet[Entry], name: str, value: str) -> QuerySet[Entry]:
        """Keep entries created at or after ``value``.

        dateutil accepts both ISO 8601 and looser forms such as ``2024-05-01``
        or ``1 May 2024``; naive values are taken to be in the server's
        timezone (UTC) so results do not depend on the client.
        """
        try:
            moment = date_parser.parse(value)
        except (ValueError, OverflowError) as exc:
            raise ValidationError({"since": f"Not a date: {value!r}"}) from exc
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, dt.UTC)
        return queryset.filter(created__gte=moment)
