"""`shipyard init` on a repository that already has its own packaging files: the user's
.dockerignore is merged (an allow-list kept), their Dockerfile is replaced only when
named, --skip keeps single files, and development-mode settings are kept out or named.

The project is linkding's shape, written from scratch: a Django settings package whose
__init__ does `try: from .dev import *`, an allow-list .dockerignore, a Dockerfile."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.cli import main
from shipyard.dockerignore import DockerIgnore
from shipyard.errors import UsageError
from shipyard.generate.files import Action
from shipyard.generate.ignoremerge import BEGIN, END
from shipyard.generate.userfiles import context_sources
from shipyard.init import init

ALLOW_LIST = "# only what the image needs\n*\n!/shop\n!/manage.py\n!/requirements.txt\n"
USER_DOCKERFILE = "FROM python:3.12\nCOPY . /app\n"
SOURCES = {
    "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n",
    "shop/__init__.py": "",
    "shop/wsgi.py": "from django.core.wsgi import get_wsgi_application\n"
                    "application = get_wsgi_application()\n",
    "shop/urls.py": "urlpatterns = []\n",
    "shop/settings/__init__.py": "try:\n    from .dev import *\nexcept ImportError:\n"
                                 "    from .prod import *\n",
    "shop/settings/base.py": "SECRET_KEY = 'x'\nDEBUG = False\nROOT_URLCONF = 'shop.urls'\n"
                             "WSGI_APPLICATION = 'shop.wsgi.application'\n",
    "shop/settings/dev.py": "from .base import *\nDEBUG = True\n",
    "shop/settings/prod.py": "from .base import *\n",
    "requirements.txt": "django==5.2.19\ngunicorn==27.0.1\n",
}
DEV = "shop/settings/dev.py"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    for name, text in {**SOURCES, ".dockerignore": ALLOW_LIST,
                       "Dockerfile": USER_DOCKERFILE}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_users_dockerfile_is_never_replaced_without_being_named(
        shop: Path, capsys: pytest.CaptureFixture[str], force: bool) -> None:
    before = tree(shop)
    assert main(["init", *(["--force"] if force else []), str(shop)]) == 2
    captured = capsys.readouterr()
    err = captured.err
    [error] = [line for line in err.splitlines() if line.startswith("error:")]
    assert error.startswith("error: Dockerfile: yours, not replaced unless named; nothing was "
                            "written")
    table = " ".join(captured.out.split())
    assert "conflict (not written by shipyard): --skip Dockerfile or --replace Dockerfile" in table
    assert "--skip Dockerfile to keep yours" in error
    assert "--replace Dockerfile to take shipyard's" in error
    assert tree(shop) == before  # all or nothing: not even the merge is written


def test_replace_dockerfile_merges_the_allow_list(shop: Path) -> None:
    result = init(shop, replace=["Dockerfile"])
    actions = {p.file.path: p.action for p in result.planned}
    assert actions["Dockerfile"] is Action.OVERWRITE
    assert actions[".dockerignore"] is Action.MERGE
    text = (shop / ".dockerignore").read_text()
    assert text.startswith(ALLOW_LIST)  # the user's allow-list, as written
    ignore = DockerIgnore(text)
    assert ignore.is_allow_list
    assert ignore.excludes(DEV)
    assert ignore.excludes("shop/.env") and ignore.excludes("README.md")
    for needed in ("docker/entrypoint.sh", "docker/healthcheck.py", "requirements.txt",
                   "shop/wsgi.py", "shop/settings/prod.py", "manage.py"):
        assert not ignore.excludes(needed), needed
    assert any(note.startswith(f"kept out of the image: {DEV} sets DEBUG = True")
               for note in result.notes)
    assert not [w for w in result.project.warnings if DEV in w]
    again = init(shop)  # idempotent: nothing left to merge, the Dockerfile is ours now
    assert {p.action for p in again.planned} == {Action.UNCHANGED}


def test_skip_keeps_the_users_dockerfile_and_reincludes_nothing(shop: Path) -> None:
    result = init(shop, skip=["Dockerfile"])
    assert (shop / "Dockerfile").read_text() == USER_DOCKERFILE
    skipped = next(p for p in result.planned if p.file.path == "Dockerfile")
    assert (skipped.action, skipped.reason) == (Action.SKIP, "yours, kept")
    text = (shop / ".dockerignore").read_text()
    assert "!docker/entrypoint.sh" not in text  # their Dockerfile does not copy it
    assert DockerIgnore(text).excludes(DEV)
    assert (shop / "compose.yaml").is_file()


def test_skipped_dockerignore_leaves_a_warning_naming_the_dev_file(shop: Path) -> None:
    (shop / ".dockerignore").unlink()
    result = init(shop, skip=[".dockerignore"], replace=["Dockerfile"])
    assert not (shop / ".dockerignore").exists()
    [warning] = [w for w in result.project.warnings if DEV in w]
    assert "switch it to development mode" in warning
    assert f"add `{DEV}` to .dockerignore" in warning


def test_dev_module_selected_otherwise_is_named_not_excluded(shop: Path) -> None:
    (shop / "shop/settings/local.py").write_text("from .base import *\nDEBUG = True\n")
    result = init(shop, replace=["Dockerfile"])
    assert not DockerIgnore((shop / ".dockerignore").read_text()).excludes(
        "shop/settings/local.py")  # someone may select it: leaving it out could break them
    [warning] = [w for w in result.project.warnings if "local.py" in w]
    assert warning == ("shop/settings/local.py sets DEBUG = True: it goes into the image; make "
                       "sure production never selects it, or add `shop/settings/local.py` to "
                       ".dockerignore")


def test_fresh_project_gets_shipyards_file_with_the_dev_settings_excluded(shop: Path) -> None:
    (shop / ".dockerignore").unlink()
    (shop / "Dockerfile").unlink()
    init(shop)
    text = (shop / ".dockerignore").read_text()
    assert text.startswith("# shipyard-init: sha256=")  # Shipyard's own, updated on re-runs
    assert DockerIgnore(text).excludes(DEV)
    assert not DockerIgnore(text).excludes("shop/settings/prod.py")


def test_edited_shipyard_dockerignore_is_merged_not_a_conflict(shop: Path) -> None:
    (shop / "Dockerfile").unlink()
    (shop / ".dockerignore").unlink()
    init(shop)
    ours = (shop / ".dockerignore").read_text()
    edited = ours.replace("**/*.pem\n", "") + "assets/raw\n"
    (shop / ".dockerignore").write_text(edited)
    result = init(shop, force=True)
    merged = next(p for p in result.planned if p.file.path == ".dockerignore")
    assert merged.action is Action.MERGE
    text = (shop / ".dockerignore").read_text()
    assert text.startswith(edited[:edited.index(BEGIN)])  # the user's part, as edited
    assert text.endswith(f"{DEV}\n{END}\nassets/raw\n")  # their line after the block stays
    block = text[text.index(BEGIN):text.index(END)].splitlines()
    assert block.count("**/*.pem") == 1  # what they removed must hold: added back


def test_dockerfile_dockerignore_is_the_one_merged(shop: Path) -> None:
    """BuildKit reads Dockerfile.dockerignore instead of .dockerignore when it exists
    (checked against the engine): merging into .dockerignore would protect nothing."""
    (shop / ".dockerignore").write_text("node_modules\n")
    (shop / "Dockerfile.dockerignore").write_text(ALLOW_LIST)
    result = init(shop, replace=["Dockerfile"])
    assert (shop / ".dockerignore").read_text() == "node_modules\n"
    merged = (shop / "Dockerfile.dockerignore").read_text()
    assert merged.startswith(ALLOW_LIST) and DockerIgnore(merged).excludes(DEV)
    assert any(n.startswith("kept out of the image") for n in result.notes)
    kept = init(shop, skip=["Dockerfile.dockerignore"])
    assert {p.file.path: p.action for p in kept.planned}["Dockerfile.dockerignore"] is Action.SKIP


def test_warns_when_the_allow_list_leaves_out_the_app(shop: Path) -> None:
    (shop / ".dockerignore").write_text("*\n!/manage.py\n!/requirements.txt\n")
    result = init(shop, replace=["Dockerfile"])
    assert any(w.startswith(".dockerignore leaves out shop/wsgi.py, the application's module")
               for w in result.project.warnings)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"skip": ["Dockerfle"]}, "--skip Dockerfle: not a file init writes"),
    ({"replace": [".dockerignore"]}, "--replace .dockerignore: a .dockerignore is merged"),
    ({"skip": ["Dockerfile"], "replace": ["./Dockerfile"]}, "both --skip and --replace"),
], ids=["unknown-name", "replace-dockerignore", "skip-and-replace"])
def test_bad_file_choices_are_usage_errors(shop: Path, kwargs: dict[str, list[str]],
                                          fragment: str) -> None:
    before = tree(shop)
    with pytest.raises(UsageError) as info:
        init(shop, **kwargs)  # type: ignore[arg-type]
    assert fragment in info.value.message
    assert tree(shop) == before


def test_invalid_user_pattern_is_a_one_line_error(shop: Path) -> None:
    (shop / ".dockerignore").write_text("*\n!/shop\n[z-a]\n")
    with pytest.raises(UsageError) as info:
        init(shop, replace=["Dockerfile"])
    assert info.value.message.startswith(".dockerignore:3: invalid pattern '[z-a]'")


def test_context_sources_are_the_named_context_files() -> None:
    dockerfile = ("COPY uv.lock pyproject.toml ./\nCOPY . .\nCOPY --from=builder /opt/venv /v\n"
                  "COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/x\n"
                  "COPY ./packages/lib/ packages/lib/\nRUN echo COPY a b\n"
                  'copy ["conf/app.ini", "conf/log.ini", "/etc/app/"]\n'
                  "COPY --chown=app \\\n    certs/ca.pem /etc/ssl/\n"
                  "ADD https://example.com/x.tgz /tmp/\nCOPY $SRC /x\n"
                  "COPY <<EOF /etc/motd\nhello\nEOF\nADD vendor.tar.gz /opt/\n")
    assert context_sources(dockerfile) == ["uv.lock", "pyproject.toml", "docker/entrypoint.sh",
                                           "packages/lib", "conf/app.ini", "conf/log.ini",
                                           "certs/ca.pem", "vendor.tar.gz"]


def test_skipped_users_dockerfile_keeps_what_it_copies(shop: Path) -> None:
    (shop / "Dockerfile").write_text("FROM python:3.12\nCOPY requirements.txt certs/ca.pem /app/\n"
                                     "COPY shop /app/shop\n")
    (shop / "certs").mkdir()
    (shop / "certs/ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    init(shop, skip=["Dockerfile"])
    ignore = DockerIgnore((shop / ".dockerignore").read_text())
    assert not ignore.excludes("certs/ca.pem")  # their COPY names it: it stays in
    assert ignore.excludes("shop/certs/private.key") and ignore.excludes(DEV)
    assert ignore.excludes("docker/entrypoint.sh")  # their Dockerfile does not copy ours
