"""URLs of the entries app, mounted at the site root."""

from django.urls import path

from entries import views

app_name = "entries"

urlpatterns = [
    path("", views.entry_list, name="list"),
    path("api/entries", views.EntryListAPIView.as_view(), name="api-list"),
]
