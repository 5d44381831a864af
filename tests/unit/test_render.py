"""Rendering as data: the generated Dockerfile, entrypoint and compose files, per project kind.

Each synthetic project is detected from a tmp directory, rendered, and the text is
parsed (Dockerfile instructions per stage, YAML) before anything is asserted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from shipyard.detect import Project, detect
from shipyard.detect.project import GUNICORN_PIN, UVICORN_PIN
from shipyard.generate.install_steps import uses_project_prefix
from shipyard.generate.render import GeneratedFile, builder_packages, render

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HASH = " --hash=sha256:" + "a" * 64
FLASK = "from flask import Flask\n\napp = Flask(__name__)\n"
FASTAPI = "from fastapi import FastAPI\n\napp = FastAPI()\n"
MANAGE = ('import os\n\n\ndef main():\n'
          '    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_cfg.settings")\n')
HATCH = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
PRIVATE_GIT = "lib @ git+ssh://git@git.example.com:2222/acme/lib.git@v1.0.0\n"
KNOWN_HOSTS = "[git.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\n"

PROJECTS: dict[str, dict[str, str]] = {
    "flask-pinned": {"app.py": FLASK, "requirements.txt": "flask==3.0.0\ngunicorn==23.0.0\n"},
    "flask-loose-no-server": {"app.py": FLASK, "requirements.txt": "flask\n"},
    "flask-hashed-no-server": {"app.py": FLASK, "requirements.txt": f"flask==3.0.0{HASH}\n"},
    "flask-private-git": {"app.py": FLASK,
                          "requirements.txt": "flask==3.0.0\ngunicorn==23.0.0\n" + PRIVATE_GIT},
    "flask-compiled": {"app.py": FLASK,
                       "requirements.txt": "flask==3.0.0\ngunicorn==23.0.0\n./packages/fast\n",
                       "packages/fast/setup.py": "", "packages/fast/fast/_speed.c": ""},
    "fastapi-uv-package": {
        "pyproject.toml": HATCH + '[project]\nname = "svc"\nversion = "1"\n'
                                  'dependencies = ["fastapi", "uvicorn"]\n'
                                  '[project.optional-dependencies]\npg = ["psycopg"]\n',
        "uv.lock": "version = 1\n", "src/svc/__init__.py": "", "src/svc/main.py": FASTAPI},
    "fastapi-src-source": {"requirements.txt": "fastapi==0.115.0\n",
                           "src/svc/__init__.py": "", "src/svc/main.py": FASTAPI},
    "poetry": {"pyproject.toml": '[tool.poetry]\nname = "po"\n[tool.poetry.dependencies]\n'
                                 'python = "^3.11"\nflask = "^3"\n', "poetry.lock": "",
               "app.py": FLASK},
    "pyproject-source": {"pyproject.toml": '[project]\nname = "pp"\n'
                                           'dependencies = ["flask", "gunicorn"]\n',
                         "app.py": FLASK},
    "setuptools": {"setup.py": "from setuptools import setup\nsetup(install_requires=['f>=1'])\n",
                   "app.py": FLASK},
    "django": {"manage.py": MANAGE, "site_cfg/__init__.py": "",
               "site_cfg/settings.py": 'STATIC_ROOT = "/app/static"\n',
               "requirements.txt": "Django==5.2\ngunicorn==23.0.0\n",
               "blog/__init__.py": "", "blog/migrations/__init__.py": "",
               "blog/migrations/0001_initial.py": "", "locale/fr/LC_MESSAGES/django.po": ""},
    "django-no-migrations": {"manage.py": MANAGE, "site_cfg/__init__.py": "",
                             "site_cfg/settings.py": "DEBUG = False\n",
                             "requirements.txt": "Django==5.2\ngunicorn==23.0.0\n"},
    "console-script": {"pyproject.toml": HATCH + '[project]\nname = "tool"\nversion = "1"\n'
                                                 '[project.scripts]\n'
                                                 'tool-serve = "tool.cli:main"\n',
                       "tool/__init__.py": "", "tool/cli.py": "def main(): pass\n"},
    "unknown": {"job.py": "print('hi')\n"},
}


def detect_synthetic(root: Path, name: str, **kwargs: object) -> Project:
    root = root / name
    for rel, text in PROJECTS[name].items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return detect(root, **kwargs)  # type: ignore[arg-type]


def all_projects() -> list[str]:
    names = list(PROJECTS)
    if (EXAMPLES / "django-app").is_dir():
        names.append("example-django")
    return names


def load(tmp_path: Path, name: str) -> Project:
    if name == "example-django":
        return detect(EXAMPLES / "django-app")
    return detect_synthetic(tmp_path, name)


def files_of(project: Project, **kwargs: str) -> dict[str, GeneratedFile]:
    kwargs.setdefault("known_hosts", KNOWN_HOSTS)
    return {f.path: f for f in render(project, **kwargs)}


def dockerfile(project: Project) -> str:
    return files_of(project)["Dockerfile"].content


# -- a tiny Dockerfile reader ------------------------------------------------------------------

Instruction = tuple[str, str]


def instructions(text: str) -> list[Instruction]:
    """(KEYWORD, arguments) with continuation lines joined and comments dropped."""
    out: list[Instruction] = []
    buf = ""
    for line in text.splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        keyword, _, rest = (buf + line).strip().partition(" ")
        out.append((keyword.upper(), " ".join(rest.split())))
        buf = ""
    assert not buf, "Dockerfile ends inside a continuation"
    return out


def stages(text: str) -> dict[str, list[Instruction]]:
    """Instructions per stage name ("global" for those before the first FROM)."""
    result: dict[str, list[Instruction]] = {"global": []}
    current = "global"
    for keyword, args in instructions(text):
        if keyword == "FROM":
            match = re.fullmatch(r"\S+ AS (\S+)", args, re.IGNORECASE)
            assert match, f"unnamed stage: FROM {args}"
            current = match.group(1)
            assert current not in result, f"stage {current} defined twice"
            result[current] = []
        else:
            result[current].append((keyword, args))
    return result


def build_body(text: str) -> list[Instruction]:
    """The build stages' instructions in order: `dependencies` (tools, the dependency
    layer), then `builder` (the code)."""
    parsed = stages(text)
    return parsed["dependencies"] + parsed["builder"]


def env_names(args: str) -> list[str]:
    return re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", args)


# -- Dockerfile structure ------------------------------------------------------------------------

@pytest.mark.parametrize("name", all_projects())
def test_multi_stage_builder_then_runtime(tmp_path: Path, name: str) -> None:
    parsed = stages(dockerfile(load(tmp_path, name)))
    names = [n for n in parsed if n != "global"]
    assert names.index("dependencies") < names.index("builder") < names.index("runtime")
    assert names[-1] == "runtime"
    assert re.search(r"^FROM dependencies AS builder$", dockerfile(load(tmp_path, name)), re.M)
    runtime = parsed["runtime"]
    # the virtualenv from the stage that ends with it: copied while the builder works
    assert ("COPY", "--from=dependencies /opt/venv /opt/venv") in runtime


@pytest.mark.parametrize("name", all_projects())
def test_runtime_stage_installs_only_the_builders_library_list(tmp_path: Path, name: str) -> None:
    """apt-get in the runtime stage only ever installs the list the builder's ELF scan
    wrote (compiled dependencies), and only when something is compiled at all."""
    project = load(tmp_path, name)
    runtime = stages(dockerfile(project))["runtime"]
    native = project.needs_compiler
    for keyword, args in runtime:
        if keyword == "RUN":
            assert "pip install" not in args
            assert "apk " not in args
            if "apt-get" in args:
                assert native
                stage = "builder" if uses_project_prefix(project) else "runtime-libs"
                assert f"from={stage},source=/opt/runtime-packages" in args
                assert "xargs apt-get install -y --no-install-recommends <" in args


@pytest.mark.parametrize("name", all_projects())
def test_runtime_user_is_numeric_and_not_root(tmp_path: Path, name: str) -> None:
    runtime = stages(dockerfile(load(tmp_path, name)))["runtime"]
    args = dict(re.match(r"(\w+)=(\S+)", a).groups()  # type: ignore[union-attr]
                for k, a in runtime if k == "ARG" and "=" in a)
    users = [a for k, a in runtime if k == "USER"]
    assert len(users) == 1
    match = re.fullmatch(r"\$\{(\w+)\}:\$\{(\w+)\}", users[0])
    assert match, users[0]
    uid, gid = (args[match.group(1)], args[match.group(2)])
    assert uid.isdigit() and gid.isdigit()
    assert int(uid) > 0 and int(gid) > 0


@pytest.mark.parametrize("name", all_projects())
def test_healthcheck_uses_python_not_curl(tmp_path: Path, name: str) -> None:
    project = load(tmp_path, name)
    text = dockerfile(project)
    checks = [a for k, a in stages(text)["runtime"] if k == "HEALTHCHECK"]
    assert len(checks) == 1
    assert re.search(r'CMD \["python", "/usr/local/lib/shipyard/healthcheck\.py"\]', checks[0])
    assert "curl" not in text and "wget" not in text
    script = files_of(project)["docker/healthcheck.py"].content
    compile(script, "healthcheck.py", "exec")  # valid Python
    assert "urllib.request" in script
    assert ("COPY", "--chmod=0644 docker/healthcheck.py /usr/local/lib/shipyard/healthcheck.py") \
        in stages(text)["runtime"]


@pytest.mark.parametrize("name", all_projects())
def test_label_args_exist_and_no_secret_like_names(tmp_path: Path, name: str) -> None:
    parsed = stages(dockerfile(load(tmp_path, name)))
    for stage, body in parsed.items():
        declared = {re.split(r"[=\s]", a)[0] for k, a in body if k == "ARG"}
        for keyword, args in body:
            if keyword == "LABEL" and "org.opencontainers" in args:  # not the static ones
                used = set(re.findall(r"\$\{(\w+)\}", args))
                assert used, "labels should carry build metadata"
                assert used <= declared, f"{stage}: LABEL uses undeclared {used - declared}"
        names = [re.split(r"[=\s]", a)[0] for k, a in body if k == "ARG"]
        names += [n for k, a in body if k == "ENV" for n in env_names(a)]
        for var in names:
            assert not re.search(r"TOKEN|PASSWORD|PASSWD|SECRET|KEY|CREDENTIAL", var), var


@pytest.mark.parametrize("name", all_projects())
def test_ca_bundle_only_as_a_secret_mount(tmp_path: Path, name: str) -> None:
    text = dockerfile(load(tmp_path, name))
    for keyword, args in instructions(text):
        if keyword == "RUN" and re.search(r"pip install|uv sync|poetry install", args):
            # every step that talks to an index can see the proxy CA, as a secret
            assert "--mount=type=secret,id=ca_bundle" in args, args
    rest = text.replace("--mount=type=secret,id=ca_bundle", "").replace(
        "/run/secrets/ca_bundle", "")
    assert "ca_bundle" not in rest
    for keyword, args in instructions(text):
        if keyword in ("COPY", "ADD"):
            assert not re.search(r"\.(crt|pem)\b|ca[-_]?bundle", args, re.IGNORECASE), args
        if keyword in ("ARG", "ENV"):
            assert "CERT" not in args


@pytest.mark.parametrize("name", all_projects())
def test_smoke_test_runs_in_runtime_stage_as_app_user(tmp_path: Path, name: str) -> None:
    project = load(tmp_path, name)
    runtime = stages(dockerfile(project))["runtime"]
    keywords = [k for k, _ in runtime]
    smoke = [i for i, (k, a) in enumerate(runtime) if k == "RUN" and a.startswith('["python"')]
    assert len(smoke) == 1
    assert smoke[0] > keywords.index("USER")
    if project.import_check:
        collects = project.install_mode == "source" and bool(
            project.django and project.django.collectstatic)
        quiet = '"-W", "ignore:No directory at:UserWarning", ' if collects else ""
        assert runtime[smoke[0]][1] == f'["python", {quiet}"-c", "import {project.import_check}"]'


# -- dependency layer ----------------------------------------------------------------------------

def builder_copies(text: str) -> tuple[list[str], int]:
    """Sources of the COPY lines before `COPY . .` in the builder, and that line's index."""
    body = build_body(text)
    full = body.index(("COPY", ". ."))
    sources = [a.split()[0] for k, a in body[:full] if k == "COPY"]
    return sources, full


DEPENDENCY_LAYER = [
    # id, copied before `COPY . .` (known_hosts is the pinned ssh config, not a declaration)
    ("flask-pinned", ["requirements.txt"]),
    ("flask-private-git", ["docker/known_hosts", "requirements.txt"]),
    ("flask-compiled", ["requirements.txt", "packages/fast"]),
    ("fastapi-uv-package", ["--from=dependency-project"]),
    ("poetry", ["--from=dependency-list"]),
    ("pyproject-source", ["--from=dependency-list"]),
    ("setuptools", ["--from=dependency-list"]),
    ("unknown", []),
]


@pytest.mark.parametrize(("name", "copies"), DEPENDENCY_LAYER, ids=[c[0] for c in DEPENDENCY_LAYER])
def test_dependency_layer_copies_only_declarations_before_the_code(
        tmp_path: Path, name: str, copies: list[str]) -> None:
    text = dockerfile(detect_synthetic(tmp_path, name))
    sources, full = builder_copies(text)
    assert sources == copies
    body = build_body(text)
    installs = [i for i, (k, a) in enumerate(body) if k == "RUN"
                and re.search(r"pip install [^&]*-r |uv sync|poetry install", a)]
    if name != "unknown":
        assert installs and installs[0] < full, "dependency install must precede COPY . ."


LIST_STAGE_COPIES = [
    ("pyproject-source", "pyproject.toml ./"),
    ("setuptools", "setup.py docker/egg_requirements.py ./"),
    ("poetry", "poetry.lock docker/poetry_requirements.py ./"),
]


@pytest.mark.parametrize(("name", "copies"), LIST_STAGE_COPIES,
                         ids=[c[0] for c in LIST_STAGE_COPIES])
def test_dependency_list_stage_copies_only_the_declaration(
        tmp_path: Path, name: str, copies: str) -> None:
    project = detect_synthetic(tmp_path, name)
    listing = stages(dockerfile(project))["dependency-list"]
    assert [a for k, a in listing if k == "COPY"] == [copies]


REQUIRES_TXT = """flask==3.1.0
gunicorn==23.0.0

[:python_version < "3.12"]
tomli==2.0.1

[yaml]
PyYAML==6.0.2

[yaml:sys_platform == "linux"]
libyaml-helper==1.0

[other]
unwanted==1.0
"""


@pytest.mark.parametrize(("extras", "expected"), [
    ([], ["flask==3.1.0", "gunicorn==23.0.0", 'tomli==2.0.1; python_version < "3.12"']),
    (["yaml"], ["flask==3.1.0", "gunicorn==23.0.0", 'tomli==2.0.1; python_version < "3.12"',
                "PyYAML==6.0.2", 'libyaml-helper==1.0; sys_platform == "linux"']),
], ids=["base", "with-extra"])
def test_egg_requirements_helper_keeps_base_markers_and_chosen_extras(
    tmp_path: Path, extras: list[str], expected: list[str]
) -> None:
    import subprocess
    import sys

    project = detect_synthetic(tmp_path / "p", "setuptools")
    helper = next(f for f in render(project) if f.path == "docker/egg_requirements.py")
    egg = tmp_path / "egg" / "hello.egg-info"
    egg.mkdir(parents=True)
    (egg / "requires.txt").write_text(REQUIRES_TXT)
    script = tmp_path / "egg_requirements.py"
    script.write_text(helper.content.replace("/tmp/*.egg-info", f"{tmp_path}/egg/*.egg-info"))
    out = subprocess.run([sys.executable, str(script), *extras], check=True,
                         capture_output=True, text=True).stdout
    assert out.splitlines() == expected


def test_pyproject_dependency_list_works_on_python_310(tmp_path: Path) -> None:
    project = detect_synthetic(tmp_path, "pyproject-source", python="3.10")
    text = dockerfile(project)
    assert "python:3.10" in text
    assert "import tomllib" not in text


def test_example_django_dependency_layer() -> None:
    text = dockerfile(detect(EXAMPLES / "django-app"))
    sources, _ = builder_copies(text)
    # the local C package comes built from `local-packages`, the translations compiled
    # from `messages` (where msgfmt is), both before the code: a code change keeps them
    assert sources == ["requirements.txt", "packages/textstats", "--from=local-packages",
                       "--from=messages"]
    install = next(a for k, a in build_body(text) if k == "RUN" and "uv pip install" in a)
    # the local C package was built in place: its build tree goes in the same step
    assert install.endswith("&& rm -rf packages/textstats/build packages/textstats/*.egg-info"
                            " packages/textstats/src/*.egg-info")
    code = [a for k, a in stages(text)["builder"] if k == "RUN"]
    assert len(code) == 1  # one RUN for the code (translations: stage `messages`)
    build = code[0]
    messages = [a for k, a in stages(text)["messages"] if k == "RUN"]
    assert len(messages) == 1 and "msgfmt" in messages[0]
    # init's build-only files do not reach /app (the runtime has its own copies)
    removal = "rm -f docker/entrypoint.sh docker/healthcheck.py docker/runtime_libs.py"
    assert build.startswith(removal) and build.index(removal) < build.index("compileall")
    assert "collectstatic" not in build and "compilemessages" not in build
    # collectstatic in its own stage, after a mark, taking only the files it wrote
    static = stages(text)["static"]
    assert re.search(r"^FROM builder AS static$", text, re.M)
    [collect] = [a for k, a in static if k == "RUN"]
    assert re.fullmatch(r"mkdir -p (\S+)/out && touch (\S+)/start && python manage.py "
                        r"collectstatic --noinput && find \. -type f -newer \2/start "
                        r"-exec cp --parents -p -t \1/out \{\} \+", collect), collect
    runtime = stages(text)["runtime"]
    smoke = next(i for i, (k, a) in enumerate(runtime) if k == "RUN" and "import " in a)
    # after the import check, which does not need them: on a code change both run at once
    assert runtime[smoke + 1] == ("COPY", "--from=static /static-build/out/ /app/")
    ignore = next(f.content for f in render(detect(EXAMPLES / "django-app"))
                  if f.path == ".dockerignore")
    assert "locale/**/*.mo" in ignore.splitlines()  # no stale .mo over the fresh one


INSTALL = [
    # id, fragments of the dependency install RUN, fragments that must not appear
    ("flask-pinned", ["uv pip install -r requirements.txt"], [GUNICORN_PIN]),
    ("flask-loose-no-server", [f"uv pip install -r requirements.txt {GUNICORN_PIN}"], []),
    ("flask-hashed-no-server",
     [f"uv pip install --require-hashes -r requirements.txt && uv pip install {GUNICORN_PIN}"],
     []),
    ("fastapi-src-source", [f"uv pip install -r requirements.txt {UVICORN_PIN}"], []),
    ("fastapi-uv-package", ["uv sync --frozen --no-dev --no-install-project"], ["uv pip install"]),
    ("poetry", ["uv pip install --no-deps --require-hashes -r /tmp/requirements.txt",
                "uv pip install --no-deps -r /tmp/requirements-unhashed.txt",
                f"uv pip install {GUNICORN_PIN}"], ["poetry"]),
    ("pyproject-source", ["uv pip install -r /tmp/requirements.txt"], [GUNICORN_PIN]),
    ("setuptools", [f"uv pip install -r /tmp/requirements.txt {GUNICORN_PIN}"], []),
]


@pytest.mark.parametrize("name", [c[0] for c in INSTALL])
def test_builder_installs_with_uv_and_pip_only_installs_pinned_tools(tmp_path: Path,
                                                                      name: str) -> None:
    """Issue 12: uv installs for every strategy; pip only fetches the tools (pinned)."""
    body = build_body(dockerfile(detect_synthetic(tmp_path, name)))
    runs = [a for k, a in body if k == "RUN"]
    pip_installs = [command for run in runs for command in re.split(r"&&|;", run)
                    if re.search(r"(?<!uv )\bpip install\b", command)]
    for command in pip_installs:
        assert re.search(r"\b(uv|poetry)==\d", command), command
    uv_stage = stages(dockerfile(detect_synthetic(tmp_path, name))).get("uv", body)
    assert any("uv==" in a for k, a in uv_stage if k == "RUN")


@pytest.mark.parametrize("name", all_projects())
def test_virtualenv_creation_drops_scripts_for_other_systems(tmp_path: Path, name: str) -> None:
    """The venv is created once, in `dependencies`, and the same step removes the
    activation scripts nothing in a Linux image can run (keeping `activate`)."""
    runs = [a for k, a in stages(dockerfile(load(tmp_path, name)))["dependencies"]
            if k == "RUN" and "venv /opt/venv" in a]
    assert len(runs) == 1, runs
    assert re.search(r"venv /opt/venv && rm -f /opt/venv/bin/activate\.\* "
                     r"/opt/venv/bin/Activate\.ps1 /opt/venv/bin/\*\.bat( && |$)", runs[0]), runs[0]


UV_CALL = re.compile(r"(^|[;&|]\s*|\s)uv (pip|sync|venv)\b")


@pytest.mark.parametrize("name", all_projects())
def test_uv_is_mounted_where_it_runs_and_copied_nowhere(tmp_path: Path, name: str) -> None:
    """uv reaches each step that calls it as a read-only mount of the `uv` stage: no COPY
    waits for its 40 MB, no layer holds it, and the virtualenv is created in the
    dependency install's own step whenever there is an install."""
    text = dockerfile(load(tmp_path, name))
    instructions = [i for body in stages(text).values() for i in body]
    calls = [a for k, a in instructions if k == "RUN" and UV_CALL.search(a)]
    assert calls
    for run in calls:
        assert "--mount=type=bind,from=uv,source=/opt/uv,target=/opt/uv" in run, run
    assert not [a for k, a in instructions if k == "COPY" and "/opt/uv" in a]
    # One uv step in `dependencies`: the virtualenv and the install (if any) together.
    assert len([a for k, a in stages(text)["dependencies"]
                if k == "RUN" and UV_CALL.search(a)]) == 1


@pytest.mark.parametrize(("name", "present", "absent"), INSTALL, ids=[c[0] for c in INSTALL])
def test_dependency_install_command(tmp_path: Path, name: str, present: list[str],
                                    absent: list[str]) -> None:
    text = dockerfile(detect_synthetic(tmp_path, name))
    body = build_body(text)
    _, full = builder_copies(text)
    runs = " ".join(a for k, a in body[:full] if k == "RUN")
    for fragment in present:
        assert fragment in runs
    for fragment in absent:
        assert fragment not in runs


def test_uv_extras_and_package_install(tmp_path: Path) -> None:
    project = detect_synthetic(tmp_path, "fastapi-uv-package", extras=["pg"])
    body = build_body(dockerfile(project))
    _, full = builder_copies(dockerfile(project))
    before = " ".join(a for k, a in body[:full] if k == "RUN")
    after = " ".join(a for k, a in body[full:] if k == "RUN")
    assert "uv sync --frozen --no-dev --extra pg --no-install-project" in before
    # the project alone, into its own prefix: the runtime's dependency layer stays put
    assert "uv pip install --no-deps --prefix /opt/project ." in after
    assert "uv==" in " ".join(a for k, a in stages(dockerfile(project))["uv"] if k == "RUN")
    runtime = stages(dockerfile(project))["runtime"]
    assert ("COPY", "--from=builder /src /app") not in runtime  # package mode: venv only
    copies = [a for k, a in runtime if k == "COPY" and " /opt/" in a and "--from=" in a]
    assert copies == ["--from=dependencies /opt/venv /opt/venv",
                      "--from=builder /opt/project/ /opt/venv/"]  # dependencies, then project


def test_source_mode_src_layout_sets_pythonpath(tmp_path: Path) -> None:
    runtime = stages(dockerfile(detect_synthetic(tmp_path, "fastapi-src-source")))["runtime"]
    envs = " ".join(a for k, a in runtime if k == "ENV")
    assert "PYTHONPATH=/app/src" in envs
    assert ("COPY", "--from=builder /src /app") in runtime


# -- builder packages, ssh -----------------------------------------------------------------------

PACKAGES = [
    ("flask-pinned", []),
    ("flask-compiled", ["gcc", "libc6-dev", "make"]),  # C sources only: no g++
    ("flask-private-git", ["git", "openssh-client"]),
    ("django", ["gettext"]),
    ("django-no-migrations", []),
    ("fastapi-uv-package", []),
]


@pytest.mark.parametrize(("name", "packages"), PACKAGES, ids=[c[0] for c in PACKAGES])
def test_builder_packages(tmp_path: Path, name: str, packages: list[str]) -> None:
    project = detect_synthetic(tmp_path, name)
    assert builder_packages(project) == packages
    text = dockerfile(project)
    apt = [a for k, a in build_body(text) if k == "RUN" and "apt-get" in a]
    if packages:
        assert len(apt) == 1
        installed = apt[0].split("--no-install-recommends", 1)[1].split("&&")[0].split()
        assert installed == packages
        # apt's lists and downloads in cache mounts: never in the layer, kept for rebuilds
        assert "--mount=type=cache,target=/var/lib/apt/lists,sharing=locked" in apt[0]
        assert "--mount=type=cache,target=/var/cache/apt,sharing=locked" in apt[0]
        assert "rm -f /etc/apt/apt.conf.d/docker-clean" in apt[0]  # else debs are deleted
    else:
        assert "apt-get" not in text


@pytest.mark.parametrize(("source", "cxx"), [
    ("fast/_speed.c", False),
    ("fast/_speed.cpp", True),
    ("fast/_speed.cc", True),
    ("fast/_speed.pyx", True),  # Cython may be told to generate C++
])
def test_local_sources_decide_whether_the_builder_gets_gxx(tmp_path: Path, source: str,
                                                           cxx: bool) -> None:
    root = tmp_path / "app"
    files = {k: v for k, v in PROJECTS["flask-compiled"].items() if not k.endswith(".c")}
    for rel, text in {**files, f"packages/fast/{source}": ""}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    packages = builder_packages(detect(root))
    assert packages[:3] == ["gcc", "libc6-dev", "make"]
    assert ("g++" in packages) is cxx


def test_example_django_builder_packages() -> None:
    assert builder_packages(detect(EXAMPLES / "django-app")) == ["gcc", "libc6-dev", "make",
                                                                 "gettext"]


@pytest.mark.parametrize("name", all_projects())
def test_ssh_mount_and_known_hosts_only_with_private_git(tmp_path: Path, name: str) -> None:
    project = load(tmp_path, name)
    files = files_of(project)
    text = files["Dockerfile"].content
    assert ("--mount=type=ssh" in text) is project.needs_ssh
    assert ("docker/known_hosts" in files) is project.needs_ssh
    assert ("COPY docker/known_hosts /etc/ssh/ssh_known_hosts" in text) is project.needs_ssh
    assert not any("StrictHostKeyChecking" in args for _, args in instructions(text))


def test_private_git_known_hosts_content_and_mounts(tmp_path: Path) -> None:
    project = detect_synthetic(tmp_path, "flask-private-git")
    files = files_of(project)
    assert files["docker/known_hosts"].content == KNOWN_HOSTS
    runs = [a for k, a in build_body(files["Dockerfile"].content) if k == "RUN"
            and "pip install -r" in a]
    assert len(runs) == 1
    assert "--mount=type=ssh" in runs[0]


# -- entrypoint ----------------------------------------------------------------------------------

ENTRYPOINTS = [
    # id, migrate?, fragments of the final exec
    ("django", True, ["exec gunicorn", "--worker-tmp-dir /dev/shm", "site_cfg.wsgi:application"]),
    ("django-no-migrations", False, ["exec gunicorn", "--worker-tmp-dir /dev/shm"]),
    ("flask-pinned", False, ["exec gunicorn", "--worker-tmp-dir /dev/shm", "app:app"]),
    ("fastapi-uv-package", False, ["exec uvicorn", "--proxy-headers", "svc.main:app"]),
    ("console-script", False, ["exec python /usr/local/lib/shipyard/launch.py tool-serve"]),
    ("example-django", True, ["exec gunicorn", "--worker-tmp-dir /dev/shm",
                              "guestbook.wsgi:application"]),
]


@pytest.mark.parametrize(("name", "migrate", "fragments"),
                         [c for c in ENTRYPOINTS if c[0] in all_projects()],
                         ids=[c[0] for c in ENTRYPOINTS if c[0] in all_projects()])
def test_entrypoint(tmp_path: Path, name: str, migrate: bool, fragments: list[str]) -> None:
    entry = files_of(load(tmp_path, name))["docker/entrypoint.sh"]
    text = entry.content
    assert entry.mode == 0o755
    assert text.startswith("#!/bin/sh\n")
    assert "set -eu" in text
    assert ("manage.py migrate --noinput" in text) is migrate
    last = text[text.rindex("\nexec "):]  # the server line(s); `exec "$@"` is indented
    assert text.index("set -eu") < text.index('exec "$@"') < text.rindex("\nexec ")
    if migrate:
        assert text.index("migrate --noinput") < text.rindex("\nexec ")
    for fragment in fragments:
        assert fragment in last
    if "gunicorn" in last:
        assert "uvicorn" not in last
    if "uvicorn" in last:
        assert "gunicorn" not in last
        assert "--worker-tmp-dir" not in last


def test_entrypoint_for_asgi_factory_uses_factory_flag(tmp_path: Path) -> None:
    root = tmp_path / "factory"
    (root / "svc").mkdir(parents=True)
    (root / "svc" / "__init__.py").write_text("from starlette.applications import Starlette\n"
                                              "\n\ndef create_app():\n    return Starlette()\n")
    text = files_of(detect(root))["docker/entrypoint.sh"].content
    assert "--factory svc:create_app" in text
    assert "create_app()" not in text


def test_entrypoint_for_unknown_layout_fails_loudly(tmp_path: Path) -> None:
    text = files_of(detect_synthetic(tmp_path, "unknown"))["docker/entrypoint.sh"].content
    assert "exit 64" in text
    assert "gunicorn" not in text and "uvicorn" not in text


@pytest.mark.skipif(shutil.which("sh") is None, reason="no /bin/sh")
@pytest.mark.parametrize("name", all_projects())
def test_entrypoint_is_valid_shell(tmp_path: Path, name: str) -> None:
    script = tmp_path / "entrypoint.sh"
    script.write_text(files_of(load(tmp_path, name))["docker/entrypoint.sh"].content)
    result = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


# -- compose -------------------------------------------------------------------------------------

def yaml_load(text: str) -> dict[str, object]:
    data = YAML(typ="safe", pure=True).load(text)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("name", all_projects())
def test_compose_yaml(tmp_path: Path, name: str) -> None:
    project = load(tmp_path, name)
    compose = yaml_load(files_of(project)["compose.yaml"].content)
    services = compose["services"]
    assert isinstance(services, dict)
    assert list(services)[:2] == ["web", "proxy"]
    assert set(services) - {"web", "proxy"} == {b.kind for b in project.services.backing}
    web = services["web"]
    assert web["read_only"] is True
    assert "/tmp" in web["tmpfs"]
    assert "ports" not in web
    assert "container_name" not in web
    assert "build" not in web
    assert web["restart"] in ("unless-stopped", "always", "on-failure")
    assert web["healthcheck"]["test"][:2] == ["CMD", "python"]
    assert web["image"] == (f"${{IMAGE_REPOSITORY:-{project.name}}}:"
                            "${IMAGE_TAG:?set IMAGE_TAG (the unique tag to run) in .env}")
    volume, _, target = web["volumes"][0].partition(":")
    assert target == project.data_dir
    assert volume in compose["volumes"]  # a named volume, not a bind mount
    assert not volume.startswith((".", "/"))


@pytest.mark.parametrize("name", ["django", "flask-pinned"])
def test_compose_puts_the_proxy_in_front_of_web(tmp_path: Path, name: str) -> None:
    """The agent finds the proxy and its upstream by these labels; only it gets a port."""
    project = detect_synthetic(tmp_path, name)
    proxy = yaml_load(files_of(project)["compose.yaml"].content)["services"][  # type: ignore[index]
        "proxy"]
    assert proxy["image"] == "nginx:1.22"
    assert proxy["labels"] == {"org.shipyard.proxy": "nginx",
                               "org.shipyard.proxy.upstream": f"web:{project.port}"}
    assert proxy["read_only"] is True and proxy["cap_drop"] == ["ALL"]
    assert "ports" not in proxy
    conf = proxy["environment"]["SHIPYARD_NGINX_CONF"]
    assert "include /tmp/nginx/upstream.conf;" in conf
    assert "proxy_pass http://$$shipyard_upstream;" in conf
    assert f"set $$shipyard_upstream web:{project.port};" in proxy["command"][2]


def test_compose_image_repository_option(tmp_path: Path) -> None:
    project = detect_synthetic(tmp_path, "flask-pinned")
    web = yaml_load(files_of(project, image="registry.example.com/team/shop")[
        "compose.yaml"].content)["services"]["web"]  # type: ignore[index]
    assert web["image"].startswith(
        "${IMAGE_REPOSITORY:-registry.example.com/team/shop}:${IMAGE_TAG:")


@pytest.mark.parametrize("name", ["django", "flask-pinned"])
def test_compose_override_example_has_ports(tmp_path: Path, name: str) -> None:
    project = detect_synthetic(tmp_path, name)
    override = yaml_load(files_of(project)["compose.override.yaml.example"].content)
    web = override["services"]["web"]  # type: ignore[index]
    assert "ports" not in web  # only the proxy publishes a port
    assert override["services"]["proxy"]["ports"] == [  # type: ignore[index]
        f"127.0.0.1:{project.port}:8080"]
    assert ("DJANGO_SECRET_KEY" in web["environment"]) is (name == "django")


# -- .dockerignore, .gitignore ---------------------------------------------------------------

@pytest.mark.parametrize("name", all_projects())
def test_dockerignore_excludes_secrets_and_local_state(tmp_path: Path, name: str) -> None:
    text = files_of(load(tmp_path, name))[".dockerignore"].content
    lines = {line.strip() for line in text.splitlines() if line.strip()
             and not line.startswith("#")}
    for pattern in ("**/.git", "**/.env", "**/*.pem", "**/id_rsa*", ".venv", "**/.env.*"):
        assert pattern in lines
    for needed in ("docker", "docker/", "docker/entrypoint.sh", "*.py", "requirements.txt"):
        assert needed not in lines


def test_dockerignore_excludes_nested_secrets(tmp_path: Path) -> None:
    text = files_of(detect_synthetic(tmp_path, "flask-pinned"))[".dockerignore"].content
    lines = {line.strip() for line in text.splitlines()}
    for pattern in ("*.pem", "*.key", "id_rsa*", ".env"):
        assert f"**/{pattern}" in lines


def test_gitignore_is_a_lines_file(tmp_path: Path) -> None:
    files = files_of(detect_synthetic(tmp_path, "flask-pinned"))
    gitignore = files[".gitignore"]
    assert gitignore.strategy == "lines"
    assert gitignore.content.splitlines() == ["compose.override.yaml", ".env",
                                              "shipyard-build.json", "shipyard-sbom.cdx.json",
                                              "shipyard-image.tar"]
    assert {f.strategy for p, f in files.items() if p != ".gitignore"} == {"owned"}


# -- determinism -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", all_projects())
def test_rendering_is_deterministic(tmp_path: Path, name: str) -> None:
    first = render(load(tmp_path, name), known_hosts=KNOWN_HOSTS)
    second = render(load(tmp_path / "again", name), known_hosts=KNOWN_HOSTS)
    assert first == second
    for item in first:
        assert str(tmp_path) not in item.content


@pytest.mark.parametrize(("requirement", "git", "ssh"), [
    ("lib @ git+https://git.example.com/acme/lib.git@v1", True, False),
    ("lib @ git+ssh://git@git.example.com/acme/lib.git@v1", True, True),
    ("lib==1.0", False, False),
], ids=["https", "ssh", "index"])
def test_git_dependencies_bring_git_into_the_builder_only(
    tmp_path: Path, requirement: str, git: bool, ssh: bool
) -> None:
    (tmp_path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    (tmp_path / "requirements.txt").write_text(f"flask==3.0.0\ngunicorn==23.0.0\n{requirement}\n")
    text = dockerfile(detect(tmp_path))
    builder, runtime = text.split("AS runtime", 1)
    apt = next((line for line in builder.splitlines() if "apt-get install" in line), "")
    assert ("git" in apt.split()) is git
    assert ("openssh-client" in apt.split()) is ssh
    assert ("--mount=type=ssh" in builder) is ssh
    assert "apt-get" not in runtime
