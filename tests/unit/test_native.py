"""Which dependencies build from source, and which Debian packages that takes (tables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.detect import detect
from shipyard.detect.native import arches_for, wheel_fits
from shipyard.detect.native_tables import C_ONLY
from shipyard.errors import UsageError

PYPROJECT = '[project]\nname = "svc"\nversion = "1"\ndependencies = []\n'
APP = "from flask import Flask\napp = Flask(__name__)\n"
REG = 'source = { registry = "https://pypi.org/simple" }\n'
FILES = "https://files.example/packages/ab/cd"


def sdist(name: str, version: str) -> str:
    return f'sdist = {{ url = "{FILES}/{name}-{version}.tar.gz", hash = "sha256:00" }}\n'


def wheels(*names: str) -> str:
    return "wheels = [\n" + "".join(f'    {{ url = "{FILES}/{n}", hash = "sha256:00" }},\n'
                                    for n in names) + "]\n"


def package(name: str, version: str, *, deps: str = "", has_sdist: bool = True,
            wheel_names: tuple[str, ...] = (), extra: str = "") -> str:
    text = f'[[package]]\nname = "{name}"\nversion = "{version}"\n{REG}'
    if deps:
        text += f"dependencies = [\n{deps}]\n"
    if has_sdist:
        text += sdist(name, version)
    if wheel_names:
        text += wheels(*wheel_names)
    return text + extra + "\n"


def root(deps: str, extra: str = "") -> str:
    return (f'[[package]]\nname = "svc"\nversion = "1"\nsource = {{ editable = "." }}\n'
            f"dependencies = [\n{deps}]\n{extra}\n")


def uv_project(tmp_path: Path, lock: str) -> Path:
    project = tmp_path / "svc"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "uv.lock").write_text('version = 1\nrequires-python = ">=3.11"\n\n' + lock)
    (project / "app.py").write_text(APP)
    return project


MANY = "manylinux_2_17_x86_64.manylinux2014_x86_64"
ARM = "manylinux_2_17_aarch64.manylinux2014_aarch64"
UV_CASES: list[tuple[str, str, list[str], list[str], str]] = [
    # id, lock, packages built from source, builder packages besides the compiler, why
    ("sdist-only", root('    { name = "uwsgi" },\n') + package("uwsgi", "2.0.31"),
     ["uwsgi"], [], "uv.lock has only a source distribution"),
    ("windows-wheels-only",
     root('    { name = "psycopg2" },\n') + package(
         "psycopg2", "2.9.10", wheel_names=("psycopg2-2.9.10-cp311-cp311-win_amd64.whl",)),
     ["psycopg2"], ["libpq-dev"], "uv.lock has no wheel for CPython 3.11 on Linux"),
    ("binary-variant-pinned-before-this-python",
     root('    { name = "psycopg2-binary" },\n') + package(
         "psycopg2-binary", "2.9.3",
         wheel_names=(f"psycopg2_binary-2.9.3-cp310-cp310-{MANY}.whl",)),
     ["psycopg2-binary"], ["libpq-dev"], "uv.lock has no wheel for CPython 3.11 on Linux"),
    ("linux-wheels-for-both-arches",
     root('    { name = "lxml" },\n') + package("lxml", "5.3.0", wheel_names=(
         f"lxml-5.3.0-cp311-cp311-{MANY}.whl", f"lxml-5.3.0-cp311-cp311-{ARM}.whl")),
     [], [], ""),
    ("pure-python-wheel",
     root('    { name = "flask" },\n') + package(
         "flask", "3.1.0", wheel_names=("flask-3.1.0-py3-none-any.whl",)),
     [], [], ""),
    ("abi3-wheels-fit-newer-python",
     root('    { name = "cryptography" },\n') + package("cryptography", "44.0.0", wheel_names=(
         f"cryptography-44.0.0-cp39-abi3-{MANY}.whl", f"cryptography-44.0.0-cp39-abi3-{ARM}.whl")),
     [], [], ""),
    ("no-aarch64-wheel",
     root('    { name = "lxml" },\n') + package(
         "lxml", "5.3.0", wheel_names=(f"lxml-5.3.0-cp311-cp311-{MANY}.whl",)),
     ["lxml"], ["libxml2-dev", "libxslt1-dev"],
     "uv.lock has no wheel for CPython 3.11 on linux aarch64"),
    ("wheel-needs-newer-glibc-than-bookworm",
     root('    { name = "fastlib" },\n') + package("fastlib", "1.0", wheel_names=(
         "fastlib-1.0-cp311-cp311-manylinux_2_39_x86_64.whl",
         "fastlib-1.0-cp311-cp311-manylinux_2_39_aarch64.whl")),
     ["fastlib"], [], "no wheel for CPython 3.11 on Linux"),
    ("wheels-for-another-python",
     root('    { name = "lxml" },\n') + package("lxml", "5.3.0", wheel_names=(
         f"lxml-5.3.0-cp312-cp312-{MANY}.whl", f"lxml-5.3.0-cp312-cp312-{ARM}.whl")),
     ["lxml"], ["libxml2-dev", "libxslt1-dev"], "no wheel for CPython 3.11"),
    ("musllinux-does-not-fit-debian",
     root('    { name = "lxml" },\n') + package("lxml", "5.3.0", wheel_names=(
         "lxml-5.3.0-cp311-cp311-musllinux_1_2_x86_64.whl",
         "lxml-5.3.0-cp311-cp311-musllinux_1_2_aarch64.whl")),
     ["lxml"], ["libxml2-dev", "libxslt1-dev"], "no wheel"),
    ("windows-only-marker-is-not-installed",
     root('    { name = "pywinthing", marker = "sys_platform == \'win32\'" },\n')
     + package("pywinthing", "1.0"),
     [], [], ""),
    ("transitive-dependency",
     root('    { name = "django-ldapdb" },\n')
     + package("django-ldapdb", "1.5", deps='    { name = "python-ldap" },\n',
               wheel_names=("django_ldapdb-1.5-py3-none-any.whl",))
     + package("python-ldap", "3.4.4"),
     ["python-ldap"], ["libldap-dev", "libsasl2-dev"], "only a source distribution"),
    ("dev-group-is-not-installed",
     root('    { name = "flask" },\n',
          '[package.dev-dependencies]\ndev = [\n    { name = "uwsgi" },\n]\n')
     + package("flask", "3.1.0", wheel_names=("flask-3.1.0-py3-none-any.whl",))
     + package("uwsgi", "2.0.31"),
     [], [], ""),
    ("extra-on-an-edge",
     root('    { name = "psycopg", extra = ["c"] },\n')
     + package("psycopg", "3.2.3", wheel_names=("psycopg-3.2.3-py3-none-any.whl",),
               extra='[package.optional-dependencies]\nc = [\n    { name = "psycopg-c" },\n]\n')
     + package("psycopg-c", "3.2.3"),
     ["psycopg-c"], ["libpq-dev"], "only a source distribution"),
    ("lock-without-the-project-counts-everything",
     package("uwsgi", "2.0.31") + package(
         "flask", "3.1.0", wheel_names=("flask-3.1.0-py3-none-any.whl",)),
     ["uwsgi"], [], "only a source distribution"),
    ("git-source-is-left-alone",
     root('    { name = "private" },\n')
     + '[[package]]\nname = "private"\nversion = "1.0"\n'
       'source = { git = "https://git.example.com/private.git?rev=v1#abc" }\n\n',
     [], [], ""),
]


@pytest.mark.parametrize(("lock", "built", "headers", "why"), [c[1:] for c in UV_CASES],
                         ids=[c[0] for c in UV_CASES])
def test_uv_lock(tmp_path: Path, lock: str, built: list[str], headers: list[str],
                 why: str) -> None:
    project = detect(uv_project(tmp_path, lock))
    native = project.native
    assert [b.name for b in native.source_builds] == built
    assert native.build_packages == headers
    assert project.needs_compiler is bool(built)
    for name in built:
        warning = next(w for w in project.warnings if w.startswith(f"{name} "))
        assert why in warning
        assert "the builder gets gcc libc6-dev make" in warning
        # C++ only for what is not known to be C (a package shipyard knows nothing of)
        assert ("g++" in warning) is (name not in C_ONLY), warning
        assert any(r.startswith(f"{name} ") for r in project.compiled)
    if not built:
        assert not any("built from source" in w for w in project.warnings)


def test_uv_root_extra_reaches_optional_dependencies(tmp_path: Path) -> None:
    lock = root('    { name = "flask" },\n',
                '[package.optional-dependencies]\npg = [\n    { name = "psycopg2" },\n]\n') \
        + package("flask", "3.1.0", wheel_names=("flask-3.1.0-py3-none-any.whl",)) \
        + package("psycopg2", "2.9.10")
    project_dir = uv_project(tmp_path, lock)
    (project_dir / "pyproject.toml").write_text(
        PYPROJECT + '[project.optional-dependencies]\npg = ["psycopg2"]\n')
    assert detect(project_dir).native.source_builds == []
    assert [b.name for b in detect(project_dir, extras=["pg"]).native.source_builds] == [
        "psycopg2"]


def test_only_the_configured_architecture_needs_a_wheel(tmp_path: Path) -> None:
    lock = root('    { name = "lxml" },\n') + package(
        "lxml", "5.3.0", wheel_names=(f"lxml-5.3.0-cp311-cp311-{MANY}.whl",))
    project_dir = uv_project(tmp_path, lock)
    assert detect(project_dir, arches=arches_for(["linux/amd64"])).native.source_builds == []
    assert [b.name for b in detect(project_dir, arches=arches_for(["linux/arm64"]))
            .native.source_builds] == ["lxml"]


def test_python_version_decides_which_wheels_fit(tmp_path: Path) -> None:
    lock = root('    { name = "lxml" },\n') + package("lxml", "5.3.0", wheel_names=(
        f"lxml-5.3.0-cp312-cp312-{MANY}.whl", f"lxml-5.3.0-cp312-cp312-{ARM}.whl"))
    project_dir = uv_project(tmp_path, lock)
    assert detect(project_dir, python="3.12").native.source_builds == []
    assert detect(project_dir, python="3.11").native.source_builds != []


def test_psycopg_without_binary_needs_libpq_at_runtime(tmp_path: Path) -> None:
    pure = package("psycopg", "3.2.3", wheel_names=("psycopg-3.2.3-py3-none-any.whl",))
    bare = detect(uv_project(tmp_path / "a", root('    { name = "psycopg" },\n') + pure))
    assert bare.native.runtime_packages == ["libpq5"]
    assert not bare.needs_compiler
    assert any("psycopg" in w and "libpq5" in w for w in bare.warnings)
    binary = root('    { name = "psycopg" },\n    { name = "psycopg-binary" },\n') + pure \
        + package("psycopg-binary", "3.2.3", has_sdist=False, wheel_names=(
            f"psycopg_binary-3.2.3-cp311-cp311-{MANY}.whl",
            f"psycopg_binary-3.2.3-cp311-cp311-{ARM}.whl"))
    assert detect(uv_project(tmp_path / "b", binary)).native.runtime_packages == []


def test_broken_uv_lock_is_a_usage_error(tmp_path: Path) -> None:
    project_dir = uv_project(tmp_path, "[[package]\n")
    with pytest.raises(UsageError, match=r"^uv\.lock: (cannot be read as|not valid) TOML"):
        detect(project_dir)


# -- poetry.lock ----------------------------------------------------------------------------------

POETRY_PYPROJECT = ('[tool.poetry]\nname = "po"\nversion = "1"\n[tool.poetry.dependencies]\n'
                    'python = "^3.11"\nmysqlclient = "2.2.6"\n')


def poetry_package(name: str, files: list[str], extra: str = "") -> str:
    listed = "".join(f'    {{file = "{f}", hash = "sha256:00"}},\n' for f in files)
    return (f'[[package]]\nname = "{name}"\nversion = "2.2.6"\noptional = false\n'
            f'python-versions = ">=3.8"\n{extra}files = [\n{listed}]\n\n')


POETRY_CASES: list[tuple[str, str, list[str], list[str]]] = [
    ("sdist-and-windows-wheels",
     poetry_package("mysqlclient", ["mysqlclient-2.2.6-cp311-cp311-win_amd64.whl",
                                    "mysqlclient-2.2.6.tar.gz"], 'groups = ["main"]\n'),
     ["mysqlclient"], ["default-libmysqlclient-dev", "pkg-config"]),
    ("linux-wheels",
     poetry_package("mysqlclient", [f"mysqlclient-2.2.6-cp311-cp311-{MANY}.whl",
                                    f"mysqlclient-2.2.6-cp311-cp311-{ARM}.whl",
                                    "mysqlclient-2.2.6.tar.gz"], 'groups = ["main"]\n'),
     [], []),
    ("dev-group", poetry_package("mysqlclient", ["mysqlclient-2.2.6.tar.gz"],
                                 'groups = ["dev"]\n'), [], []),
    ("old-category-dev", poetry_package("mysqlclient", ["mysqlclient-2.2.6.tar.gz"],
                                        'category = "dev"\n'), [], []),
    ("windows-marker", poetry_package(
        "mysqlclient", ["mysqlclient-2.2.6.tar.gz"],
        'groups = ["main"]\nmarkers = "sys_platform == \\"win32\\""\n'), [], []),
    ("poetry-1.1-metadata-files",
     '[[package]]\nname = "mysqlclient"\nversion = "2.2.6"\ncategory = "main"\n'
     'optional = false\npython-versions = "*"\n\n[metadata]\nlock-version = "1.1"\n\n'
     '[metadata.files]\nmysqlclient = [\n    {file = "mysqlclient-2.2.6.tar.gz", hash = "x"},\n]\n',
     ["mysqlclient"], ["default-libmysqlclient-dev", "pkg-config"]),
]


@pytest.mark.parametrize(("lock", "built", "headers"), [c[1:] for c in POETRY_CASES],
                         ids=[c[0] for c in POETRY_CASES])
def test_poetry_lock(tmp_path: Path, lock: str, built: list[str], headers: list[str]) -> None:
    (tmp_path / "pyproject.toml").write_text(POETRY_PYPROJECT)
    (tmp_path / "poetry.lock").write_text(lock)
    (tmp_path / "app.py").write_text(APP)
    project = detect(tmp_path)
    assert [b.name for b in project.native.source_builds] == built
    assert project.native.build_packages == headers
    assert project.needs_compiler is bool(built)


# -- requirements files: the fallback table -------------------------------------------------------

REQUIREMENTS_CASES: list[tuple[str, str, list[str], list[str]]] = [
    ("psycopg2", "flask==3.1.0\npsycopg2==2.9.10\n", ["psycopg2"], ["libpq-dev"]),
    ("psycopg2-binary-has-wheels", "flask==3.1.0\npsycopg2-binary==2.9.10\n", [], []),
    ("mysqlclient", "mysqlclient==2.2.6\n", ["mysqlclient"],
     ["default-libmysqlclient-dev", "pkg-config"]),
    ("python-ldap-and-uwsgi", "python-ldap==3.4.4\nuWSGI==2.0.28\n", ["python-ldap", "uwsgi"],
     ["libldap-dev", "libsasl2-dev"]),
    ("lxml-has-wheels-on-pypi", "lxml==5.3.0\n", [], []),
    ("pyodbc-wheel-links-unixodbc", "pyodbc==5.2.0\n", [], ["unixodbc-dev"]),
    ("nothing-native", "flask==3.1.0\ngunicorn==23.0.0\n", [], []),
]


@pytest.mark.parametrize(("requirements", "built", "packages"),
                         [c[1:] for c in REQUIREMENTS_CASES],
                         ids=[c[0] for c in REQUIREMENTS_CASES])
def test_requirements_fallback_table(tmp_path: Path, requirements: str, built: list[str],
                                     packages: list[str]) -> None:
    (tmp_path / "requirements.txt").write_text(requirements)
    (tmp_path / "app.py").write_text(APP)
    project = detect(tmp_path)
    assert [b.name for b in project.native.source_builds] == built
    assert project.native.build_packages == packages
    assert project.needs_compiler is bool(built)
    for name in built:
        assert any(w.startswith(f"{name} will be built from source (requirements.txt has no"
                                " wheel information") for w in project.warnings)


def test_unknown_source_build_suggests_build_packages(tmp_path: Path) -> None:
    project = detect(uv_project(tmp_path, root('    { name = "oddlib" },\n')
                                + package("oddlib", "0.1")))
    warning = next(w for w in project.warnings if w.startswith("oddlib 0.1 "))
    assert "add them to [tool.shipyard] build_packages" in warning


# -- wheel tags -----------------------------------------------------------------------------------

WHEELS = [
    ("flask-3.1.0-py3-none-any.whl", (3, 11), "x86_64", True),
    ("six-1.16.0-py2.py3-none-any.whl", (3, 11), "aarch64", True),
    (f"lxml-5.3.0-cp311-cp311-{MANY}.whl", (3, 11), "x86_64", True),
    (f"lxml-5.3.0-cp311-cp311-{MANY}.whl", (3, 11), "aarch64", False),
    (f"lxml-5.3.0-cp311-cp311-{MANY}.whl", (3, 12), "x86_64", False),
    ("x-1-cp311-cp311-manylinux1_x86_64.whl", (3, 11), "x86_64", True),
    ("x-1-cp311-cp311-linux_x86_64.whl", (3, 11), "x86_64", True),
    ("x-1-cp311-cp311-manylinux_2_36_aarch64.whl", (3, 11), "aarch64", True),
    ("x-1-cp311-cp311-manylinux_2_37_aarch64.whl", (3, 11), "aarch64", False),
    ("x-1-cp38-abi3-manylinux_2_28_x86_64.whl", (3, 13), "x86_64", True),
    ("x-1-cp311-cp311-win_amd64.whl", (3, 11), "x86_64", False),
    ("x-1-cp311-cp311-macosx_11_0_arm64.whl", (3, 11), "aarch64", False),
    ("x-1-py3-none-manylinux_2_17_x86_64.whl", (3, 11), "x86_64", True),
]


@pytest.mark.parametrize(("filename", "python", "arch", "fits"), WHEELS)
def test_wheel_fits(filename: str, python: tuple[int, int], arch: str, fits: bool) -> None:
    assert wheel_fits(filename, python, arch) is fits


def test_arches_for_platforms() -> None:
    assert arches_for([]) == ("x86_64", "aarch64")
    assert arches_for(["linux/amd64"]) == ("x86_64",)
    assert arches_for(["linux/arm64/v8", "linux/amd64"]) == ("aarch64", "x86_64")
    assert arches_for(["windows/amd64"]) == ("x86_64", "aarch64")


@pytest.mark.parametrize(("line", "built", "runtime"), [
    ("psycopg==3.2.3", [], ["libpq5"]),
    ("psycopg[binary]==3.2.3", [], []),
    ("psycopg[c,pool]==3.2.3", ["psycopg-c"], ["libpq5"]),
    ("psycopg==3.2.3\npsycopg-binary==3.2.3", [], []),
])
def test_psycopg3_in_requirements(tmp_path: Path, line: str, built: list[str],
                                  runtime: list[str]) -> None:
    """psycopg 3 alone loads libpq with ctypes; its [c] extra compiles against libpq."""
    (tmp_path / "requirements.txt").write_text(f"flask==3.1.0\n{line}\n")
    (tmp_path / "app.py").write_text(APP)
    native = detect(tmp_path).native
    assert [b.name for b in native.source_builds] == built
    assert native.runtime_packages == runtime
    assert native.build_packages == (["libpq-dev"] if built else [])
