"""JSON representation of entries for the API."""

from rest_framework import serializers

from entries.models import Entry


class EntrySerializer(serializers.ModelSerializer):
    """Entry fields plus the word count computed by the C extension."""

    word_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Entry
        fields = ["id", "name", "message", "created", "word_count"]
        read_only_fields = fields
