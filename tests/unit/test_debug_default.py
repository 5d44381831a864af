"""DEBUG that is on unless an env var says otherwise (healthchecks: `DEBUG =
envbool("DEBUG", "True")`): the production image turns it off in its ENV."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.detect import detect

MANAGE = ("import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_cfg.settings')\n"
          "from django.core.management import execute_from_command_line\n")


@pytest.mark.parametrize(("line", "env"), [
    ('DEBUG = envbool("DEBUG", "True")\n', {"DEBUG": "False"}),
    ('DEBUG = env.bool("DJANGO_DEBUG", default=True)\n', {"DJANGO_DEBUG": "False"}),
    ('DEBUG = env.bool("DJANGO_DEBUG", default=False)\n', {}),
    ("DEBUG = False\n", {}),
], ids=["wrapper-default-true", "environ-default-true", "default-false", "literal-false"])
def test_debug_on_by_default_is_turned_off_in_the_image(tmp_path: Path, line: str,
                                                        env: dict[str, str]) -> None:
    (tmp_path / "manage.py").write_text(MANAGE)
    (tmp_path / "site_cfg").mkdir()
    (tmp_path / "site_cfg" / "__init__.py").write_text("")
    (tmp_path / "site_cfg" / "settings.py").write_text(
        "import os\n" + line + "WSGI_APPLICATION = 'site_cfg.wsgi.application'\n")
    (tmp_path / "requirements.txt").write_text("django==5.2.8\n")
    project = detect(tmp_path)
    assert {k: v for k, v in project.env.items() if "DEBUG" in k} == env
