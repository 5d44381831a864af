"""docker/runtime_libs.py: ELF NEEDED entries of real shared objects → Debian packages.

The script runs in the builder with only the standard library (and possibly an older
Python than ours), so it is tested both as a deliverable and on real files of this
Debian host: CPython's own extension modules in lib-dynload.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.generate import runtime_libs
from shipyard.generate.native_steps import script_text

DYNLOAD = sorted(Path("/usr/lib").glob("python3*/lib-dynload"))
needs_dynload = pytest.mark.skipif(not DYNLOAD, reason="no Debian CPython lib-dynload here")
needs_dpkg = pytest.mark.skipif(shutil.which("dpkg") is None, reason="not a Debian host")


def extension(stem: str) -> Path:
    found = sorted(DYNLOAD[-1].glob(f"{stem}.cpython-*.so"))
    if not found:
        pytest.skip(f"{stem} extension not in {DYNLOAD[-1]}")
    return found[0]


def readelf_needed(path: Path) -> list[str] | None:
    if shutil.which("readelf") is None:
        return None
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return [line.split("[", 1)[1].split("]", 1)[0] for line in out.splitlines()
            if "(NEEDED)" in line]


@needs_dynload
@pytest.mark.parametrize(("stem", "expected"), [
    ("_ssl", {"libssl.so.3", "libcrypto.so.3"}),
    ("_sqlite3", {"libsqlite3.so.0"}),
    ("_bz2", {"libbz2.so.1.0"}),
])
def test_needed_entries_of_real_extensions(stem: str, expected: set[str]) -> None:
    path = extension(stem)
    info = runtime_libs.read_elf(path)
    assert info is not None
    assert expected <= set(info.needed)
    assert "libc.so.6" in info.needed
    reference = readelf_needed(path)
    if reference is not None:
        assert info.needed == reference


@needs_dynload
def test_every_dynload_module_matches_readelf() -> None:
    if shutil.which("readelf") is None:
        pytest.skip("no readelf to compare with")
    paths = sorted(DYNLOAD[-1].glob("*.so"))
    assert paths
    for path in paths:
        info = runtime_libs.read_elf(path)
        assert info is not None and info.needed == readelf_needed(path), path


def test_non_elf_and_truncated_files_are_skipped(tmp_path: Path) -> None:
    text = tmp_path / "module.py"
    text.write_text("print('hi')\n")
    truncated = tmp_path / "broken.so"
    truncated.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 20)
    assert runtime_libs.read_elf(text) is None
    assert runtime_libs.read_elf(truncated) is None
    assert runtime_libs.elf_files(tmp_path) == [truncated]


def fake_venv(tmp_path: Path, *stems: str) -> Path:
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.11" / "site-packages" / "pkg"
    site.mkdir(parents=True)
    for stem in stems:
        shutil.copy(extension(stem), site / f"{stem}.so")
    (site / "__init__.py").write_text("")
    return venv


def fake_base(tmp_path: Path, *libraries: str) -> Path:
    """A base image root holding only the given libraries (as symlinks, like Debian's)."""
    base = tmp_path / "base"
    multiarch = base / "usr" / "lib" / "x86_64-linux-gnu"
    multiarch.mkdir(parents=True)
    (base / "lib").symlink_to("usr/lib")
    for name in libraries:
        (multiarch / name).symlink_to(f"{name}.0.0")
    return base


@needs_dynload
@needs_dpkg
def test_libraries_map_to_their_debian_packages(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path, "_sqlite3", "_ssl")
    base = fake_base(tmp_path, "libc.so.6")
    packages, problems = runtime_libs.runtime_packages(venv, base)
    assert packages == ["libsqlite3-0", "libssl3"]  # libcrypto.so.3 also comes from libssl3
    assert problems == []


@needs_dynload
@needs_dpkg
def test_bundled_and_base_libraries_are_left_out(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path, "_sqlite3", "_ssl")
    bundled = venv / "lib" / "python3.11" / "site-packages" / "pkg.libs"
    bundled.mkdir()
    (bundled / "libsqlite3.so.0").write_bytes(b"")  # what auditwheel puts next to a wheel
    base = fake_base(tmp_path, "libc.so.6", "libssl.so.3", "libcrypto.so.3")
    packages, problems = runtime_libs.runtime_packages(venv, base)
    assert (packages, problems) == ([], [])


@needs_dynload
def test_library_missing_from_the_builder_is_reported(tmp_path: Path, monkeypatch:
                                                      pytest.MonkeyPatch) -> None:
    venv = fake_venv(tmp_path, "_sqlite3")
    monkeypatch.setattr(runtime_libs, "loader_cache", dict)
    monkeypatch.setattr(runtime_libs, "library_dirs", lambda root: [] if root == Path("/")
                        else [root / "usr/lib/x86_64-linux-gnu"])
    packages, problems = runtime_libs.runtime_packages(venv, fake_base(tmp_path, "libc.so.6"))
    assert packages == []
    assert problems == ["libsqlite3.so.0 (needed by lib/python3.11/site-packages/pkg/_sqlite3.so)"
                        " is not in the builder"]


@needs_dynload
@needs_dpkg
def test_script_writes_the_list_with_added_packages(tmp_path: Path) -> None:
    script = tmp_path / "runtime_libs.py"
    script.write_text(script_text())
    venv = fake_venv(tmp_path, "_bz2")
    output = tmp_path / "packages"
    run = subprocess.run([sys.executable, str(script), "--base", str(fake_base(
        tmp_path, "libc.so.6")), "--add", "libmagic1", str(venv), str(output)],
        capture_output=True, text=True, check=True)
    assert output.read_text() == "libbz2-1.0\nlibmagic1\n"
    assert "libbz2.so.1.0 -> libbz2-1.0" in run.stdout


def test_script_with_nothing_native_writes_an_empty_list(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "lib" / "x.py").write_text("")
    output = tmp_path / "packages"
    assert runtime_libs.main([str(venv), str(output)]) == 0
    assert output.read_text() == ""


def test_script_usage_error() -> None:
    assert runtime_libs.main(["only-one"]) == 2


def test_path_variants_cross_the_usr_merge() -> None:
    assert "/usr/lib/x86_64-linux-gnu/libpq.so.5" in runtime_libs.path_variants(
        "/lib/x86_64-linux-gnu/libpq.so.5")
    assert "/lib/x86_64-linux-gnu/libz.so.1" in runtime_libs.path_variants(
        "/usr/lib/x86_64-linux-gnu/libz.so.1")


# -- the script as a deliverable ------------------------------------------------------------------


def test_script_is_the_module_and_runs_on_python_3_8() -> None:
    text = script_text()
    assert text == Path(runtime_libs.__file__).read_text(encoding="utf-8")
    ast.parse(text, feature_version=(3, 8))
    for newer in ("removeprefix(", "removesuffix(", "tomllib", "match ", "kw_only",
                  "is_relative_to(", "readlink("):
        assert newer not in text, newer


def test_script_imports_only_the_standard_library() -> None:
    modules = set()
    for node in ast.walk(ast.parse(script_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    assert modules - set(sys.stdlib_module_names) == set()
