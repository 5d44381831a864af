"""Root URL configuration.

URLs are not language-prefixed: the language comes from the browser's
Accept-Language header (LocaleMiddleware), which keeps ``/`` and ``/healthz``
stable for probes and tests.
"""

from django.contrib import admin
from django.urls import include, path

from guestbook import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("entries.urls")),
]
