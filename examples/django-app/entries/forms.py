"""Form used by the HTML page to sign the guestbook."""

from django import forms

from entries.models import Entry


class EntryForm(forms.ModelForm):
    """Validate a new entry; field labels come from the (translated) model."""

    class Meta:
        model = Entry
        fields = ["name", "message"]
        widgets = {"message": forms.Textarea(attrs={"rows": 4})}
