"""Tests for the German translation.

The .mo file is never committed, so these tests compile the catalogue
themselves with ``compilemessages`` (which needs GNU gettext's ``msgfmt``,
e.g. ``apt-get install gettext``).  The copy is compiled in a temporary
directory so that the source tree stays free of generated files.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import translation
from pytest_django import Settings

from entries.models import Entry

EntryFactory = Callable[..., Entry]

pytestmark = pytest.mark.skipif(
    shutil.which("msgfmt") is None,
    reason="GNU gettext's msgfmt is not installed (apt-get install gettext); cannot compile translations",
)

SOURCE_LOCALE = Path(django_settings.BASE_DIR) / "locale"


@pytest.fixture(scope="module")
def compiled_locale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copy locale/ to a temp dir and run compilemessages there only."""
    workdir = tmp_path_factory.mktemp("i18n")
    locale_dir = workdir / "locale"
    shutil.copytree(SOURCE_LOCALE, locale_dir, ignore=shutil.ignore_patterns("*.mo"))
    # compilemessages also walks the current directory for locale/ folders,
    # so run it from the temp dir to keep it out of the source tree.
    with pytest.MonkeyPatch.context() as mp, override_settings(LOCALE_PATHS=[locale_dir]):
        mp.chdir(workdir)
        call_command("compilemessages", locale=["de"], verbosity=0)
    return locale_dir


@pytest.fixture
def german_catalogue(compiled_locale: Path, settings: Settings) -> Iterator[Path]:
    """Point Django at the freshly compiled catalogue (resetting its caches)."""
    settings.LOCALE_PATHS = [compiled_locale]
    yield compiled_locale
    translation.deactivate()


def test_compilemessages_produces_mo(compiled_locale: Path) -> None:
    """The .po file compiles without errors."""
    assert (compiled_locale / "de" / "LC_MESSAGES" / "django.mo").stat().st_size > 0


def test_gettext_de(german_catalogue: Path) -> None:
    """Strings used in views and models are translated."""
    with translation.override("de"):
        assert translation.gettext("Guestbook") == "Gästebuch"
        assert translation.gettext("Thank you for signing the guestbook!") == "Danke für deinen Eintrag ins Gästebuch!"
        assert translation.ngettext("%(words)s word", "%(words)s words", 2) % {"words": 2} == "2 Wörter"


@pytest.mark.django_db
def test_page_in_german_via_accept_language(
    german_catalogue: Path, client: Client, make_entry: EntryFactory
) -> None:
    """LocaleMiddleware picks German from the browser's Accept-Language header."""
    make_entry(message="zwei Wörter")
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    body = response.content.decode()
    assert response["Content-Language"] == "de"
    assert '<html lang="de">' in body
    assert "Ins Gästebuch eintragen" in body
    assert "2 Wörter" in body
    assert "1 Eintrag" in body


@pytest.mark.django_db
def test_page_defaults_to_english(german_catalogue: Path, client: Client) -> None:
    """Without a German preference the page stays English."""
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sign the guestbook" in body
    assert "Gästebuch" not in body
