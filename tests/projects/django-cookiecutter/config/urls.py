import os

from django.conf import settings
from django.http import JsonResponse
from django.urls import path
from shop.models import Item


def healthz(request):
    """Which settings and database serve this request, and that migrations ran."""
    return JsonResponse({
        "settings": os.environ["DJANGO_SETTINGS_MODULE"],
        "debug": settings.DEBUG,
        "database": str(settings.DATABASES["default"]["NAME"]),
        "items": Item.objects.count(),
    })


urlpatterns = [path("healthz", healthz)]
