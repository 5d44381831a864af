"""Admin registration so entries can be moderated at /admin/."""

from django.contrib import admin

from entries.models import Entry


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    """List entries newest first with a search box for moderation."""

    list_display = ("name", "created", "word_count")
    search_fields = ("name", "message")
    date_hierarchy = "created"
