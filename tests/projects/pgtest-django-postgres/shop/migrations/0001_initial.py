from django.db import migrations


class Migration(migrations.Migration):
    """PostgreSQL only, like cookiecutter-django's `SELECT last_value FROM django_site_id_seq`:
    SQLite has no sequences, so this migration fails there."""

    initial = True
    dependencies = []  # noqa: RUF012

    operations = [  # noqa: RUF012
        migrations.RunSQL("CREATE SEQUENCE shop_ticket_seq START 100",
                          reverse_sql="DROP SEQUENCE shop_ticket_seq"),
        migrations.RunSQL("SELECT last_value FROM shop_ticket_seq", migrations.RunSQL.noop),
    ]
