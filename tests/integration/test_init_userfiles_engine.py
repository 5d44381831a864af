"""A repository with its own allow-list .dockerignore and a `try: from .dev import *`
settings package (linkding's shape, written from scratch), through `init` and a real
build: the development settings must not reach the image, whichever way init is run.

Before the user's files won, `init` stopped at the existing .dockerignore and `init
--force` replaced it with a deny-list that let settings/dev.py in: the image ran with
DEBUG=True."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.containers import build
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SOURCES = {
    "manage.py": "#!/usr/bin/env python\nimport os\nimport sys\n\n"
                 "if __name__ == '__main__':\n"
                 "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n"
                 "    from django.core.management import execute_from_command_line\n"
                 "    execute_from_command_line(sys.argv)\n",
    "shop/__init__.py": "",
    "shop/wsgi.py": "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
                    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n"
                    "application = get_wsgi_application()\n",
    "shop/urls.py": "urlpatterns = []\n",
    # picks the development settings whenever they are present
    "shop/settings/__init__.py": "try:\n    from .dev import *\nexcept ImportError:\n"
                                 "    from .prod import *\n",
    "shop/settings/base.py": "SECRET_KEY = 'not-a-secret-for-tests'\nDEBUG = False\n"
                             "ALLOWED_HOSTS = ['*']\nINSTALLED_APPS = []\n"
                             "ROOT_URLCONF = 'shop.urls'\n"
                             "WSGI_APPLICATION = 'shop.wsgi.application'\n",
    "shop/settings/dev.py": "from .base import *\n\nDEBUG = True\n",
    "shop/settings/prod.py": "from .base import *\n",
    "shop/.env": "DATABASE_PASSWORD=hunter2\n",  # inside a re-included directory
    "requirements.txt": "Django==5.2.19\ngunicorn==27.0.1\nasgiref==3.13.0\nsqlparse==0.6.1\n",
    # the user's allow-list: everything out, the app back in (dev.py is NOT named)
    ".dockerignore": "# Ignore everything\n*\n\n!/shop\n!/manage.py\n!/requirements.txt\n",
}
PROBE = ("import json, os, django; from django.conf import settings; django.setup(); "
         "print(json.dumps({'debug': settings.DEBUG, 'files': sorted("
         "os.path.join(d, f)[len('/app/'):] for d, _, fs in os.walk('/app') for f in fs)}))")


def _project(root: Path) -> Path:
    for name, text in SOURCES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("force", [False, True], ids=["init", "init-force"])
def test_dev_settings_stay_out_of_the_image(docker_engine: Docker, tmp_path: Path,
                                            force: bool) -> None:
    project = _project(tmp_path / "shop")
    result = init(project, force=force)
    assert result.written, [p.file.path for p in result.conflicts]
    tag = f"shipyard-test/userfiles-{'force' if force else 'init'}:{tmp_path.name}"
    build(docker_engine, project, tag)  # COPY docker/entrypoint.sh works under `*`
    try:
        out = docker_engine.run(["run", "--rm", "--entrypoint", "python", tag, "-c",
                                 PROBE]).stdout
        seen = json.loads(out.strip().splitlines()[-1])
        files = [f for f in seen["files"] if not f.endswith(".pyc")]
        assert "shop/settings/dev.py" not in files
        assert "shop/.env" not in files
        assert "shop/settings/prod.py" in files and "manage.py" in files
        assert seen["debug"] is False
    finally:
        docker_engine.remove_images([tag])
