"""App configuration for the entries app."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EntriesConfig(AppConfig):
    """Registers the entries app under a translatable name for the admin."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "entries"
    verbose_name = _("Guestbook entries")
