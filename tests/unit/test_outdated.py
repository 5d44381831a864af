"""`shipyard outdated`'s pure parts: apt's output, the index's pages, bump sizes, the verdict."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from packaging.version import Version

from shipyard.image.registry import ImageRef
from shipyard.outdated import ospackages, pyindex
from shipyard.outdated.report import (
    EXIT_BUMPS,
    EXIT_FRESH,
    EXIT_REBUILD,
    EXIT_SECURITY,
    BaseDrift,
    OsReport,
    OsUpdate,
    OutdatedReport,
    PythonReport,
    PythonUpdate,
)

APT = """\
@@manager apt
@@added bookworm-security
Inst perl-base [5.36.0-7+deb12u3] (5.36.0-7+deb12u4 Debian-Security:12/oldstable-security [amd64])
Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.12/oldstable [all])
Inst libfoo (1.0 Debian:12.12/oldstable [amd64])
Inst libc6 [2.36-9+deb12u9] (2.36-9+deb12u10 Debian:12.12/oldstable, \
Debian-Security:12/oldstable-security [amd64])
"""


def test_apt_output_marks_security_suites_and_skips_new_packages() -> None:
    report = ospackages.parse(APT)
    assert report.manager == "apt"
    assert [(u.package, u.security) for u in report.updates] == [
        ("libc6", True), ("perl-base", True), ("tzdata", False)]
    assert report.updates[1].installed == "5.36.0-7+deb12u3"
    assert report.updates[1].available == "5.36.0-7+deb12u4"
    assert "bookworm-security" in report.note


@pytest.mark.parametrize(("output", "manager", "note"), [
    ("@@manager none\n", "none", "no apt-get"),
    ("@@manager apt\n@@error E: Failed to fetch\n", "apt", "apt-get update failed: E: Failed"),
])
def test_apt_output_without_answers_says_why(output: str, manager: str, note: str) -> None:
    report = ospackages.parse(output)
    assert (report.manager, report.updates) == (manager, ())
    assert note in report.note


def _file(name: str, time: str, yanked: bool = False) -> dict[str, object]:
    return {"filename": name, "upload-time": time, "yanked": yanked}


PAGE = {"meta": {"api-version": "1.1"}, "name": "django", "files": [
    _file("Django-3.2.1.tar.gz", "2021-05-04T10:00:00.000000Z"),
    _file("Django-3.2.1-py3-none-any.whl", "2021-05-04T09:00:00.000000Z"),
    _file("Django-3.2.2-py3-none-any.whl", "2021-05-06T09:00:00Z"),
    _file("Django-4.0-py3-none-any.whl", "2021-12-07T09:00:00Z"),
    _file("Django-4.1-py3-none-any.whl", "2022-08-03T09:00:00Z", yanked=True),
    _file("Django-5.0a1-py3-none-any.whl", "2023-09-18T09:00:00Z"),
    _file("not-a-dist.exe", "2020-01-01T00:00:00Z"),
]}
NOW = datetime(2022, 5, 4, 9, 0, tzinfo=UTC)


def test_index_page_gives_releases_without_yanked_ones_with_first_upload() -> None:
    found = pyindex.releases(PAGE)
    assert [str(r.version) for r in found] == ["3.2.1", "3.2.2", "4.0", "5.0a1"]
    assert found[0].uploaded == datetime(2021, 5, 4, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("installed", "newest", "jump", "behind", "age"), [
    ("3.2.1", "4.0", "major", 2, 365),
    ("3.2.2", "4.0", "major", 1, None),  # age of 3.2.2 is known: checked below
    ("5.0a1", None, None, 0, None),  # a pre-release user is at the newest
    ("4.0", None, None, 0, None),
])
def test_compare_names_newest_final_release_and_distance(
        installed: str, newest: str | None, jump: str | None, behind: int,
        age: int | None) -> None:
    update = pyindex.compare("Django", installed, pyindex.releases(PAGE), NOW)
    if newest is None:
        assert update is None
        return
    assert update is not None
    assert (update.newest, update.jump, update.releases_behind) == (newest, jump, behind)
    if age is not None:
        assert update.age_days == age


@pytest.mark.parametrize(("old", "new", "jump"), [
    ("1.2.3", "2.0.0", "major"), ("1.2.3", "1.3", "minor"), ("1.2.3", "1.2.4", "patch"),
    ("1.2", "1.2.1", "patch"), ("1.2.3", "1.2.3.post1", "other"),
])
def test_jump_is_the_first_release_component_that_changes(old: str, new: str, jump: str) -> None:
    assert pyindex.jump(Version(old), Version(new)) == jump


def test_index_url_follows_pip_and_uv_settings() -> None:
    assert pyindex.index_url({}) == "https://pypi.org/simple/"
    assert pyindex.index_url({"PIP_INDEX_URL": "https://m.example/simple"}) == \
        "https://m.example/simple/"
    assert pyindex.index_url({"UV_INDEX_URL": "https://u/", "SHIPYARD_INDEX_URL": "https://s"}) \
        == "https://s/"


@pytest.mark.parametrize(("reference", "host", "path", "tag"), [
    ("python:3.11-slim-bookworm", "registry-1.docker.io", "library/python", "3.11-slim-bookworm"),
    ("acme/app", "registry-1.docker.io", "acme/app", "latest"),
    ("127.0.0.1:5000/base/python:3.11", "127.0.0.1:5000", "base/python", "3.11"),
    ("ghcr.io/o/app:v1@sha256:" + "a" * 64, "ghcr.io", "o/app", "v1"),
])
def test_image_ref_splits_for_the_distribution_api(reference: str, host: str, path: str,
                                                   tag: str) -> None:
    assert ImageRef.parse(reference) == ImageRef(host, path, tag)


_SEC = OsUpdate("libc6", "1", "2", "Debian-Security:12/stable-security", True)
_PLAIN = OsUpdate("tzdata", "1", "2", "Debian:12/stable", False)
_BUMP = PythonUpdate("django", "3.2", "5.1", "major", 9, None, None, None)


@pytest.mark.parametrize(("report", "code"), [
    (OutdatedReport("i", "x"), EXIT_FRESH),
    (OutdatedReport("i", "x", BaseDrift("b", "sha256:a", "sha256:a", "registry")), EXIT_FRESH),
    (OutdatedReport("i", "x", BaseDrift("b", "sha256:a", "sha256:b", "registry")), EXIT_REBUILD),
    (OutdatedReport("i", "x", BaseDrift("b", "sha256:a", None, "unknown")), EXIT_FRESH),
    (OutdatedReport("i", "x", os=OsReport("apt", (_PLAIN,))), EXIT_REBUILD),
    (OutdatedReport("i", "x", BaseDrift("b", "sha256:a", "sha256:b", "registry"),
                    OsReport("apt", (_SEC, _PLAIN))), EXIT_SECURITY),
    # pinned Python versions do not change on a rebuild: no reason to rebuild
    (OutdatedReport("i", "x", python=PythonReport(1, (_BUMP,))), EXIT_FRESH),
    (OutdatedReport("i", "x", python=PythonReport(1, (_BUMP,)), python_only=True), EXIT_BUMPS),
    (OutdatedReport("i", "x", python=PythonReport(1), python_only=True), EXIT_FRESH),
])
def test_exit_status_is_what_a_ci_job_branches_on(report: OutdatedReport, code: int) -> None:
    assert report.exit_code == code
    assert report.to_dict()["exit_code"] == code


def test_python_report_groups_bumps_by_size() -> None:
    patch = PythonUpdate("six", "1.15.0", "1.15.1", "patch", 1, None, None, None)
    groups = PythonReport(2, (_BUMP, patch)).grouped()
    assert {jump: [u.name for u in items] for jump, items in groups.items()} == {
        "major": ["django"], "patch": ["six"]}


def test_a_directory_means_the_image_of_its_last_build(tmp_path: Path) -> None:
    from shipyard.errors import UsageError
    from shipyard.outdated.run import find_subject, sbom_distributions

    assert find_subject("reg.example/app:v1", tmp_path).image == "reg.example/app:v1"
    with pytest.raises(UsageError, match="no build report"):
        find_subject(None, tmp_path)
    report = {"image_id": "sha256:1", "repository": "app", "unique_tag": "main-1",
              "tags": ["main-1"], "refs": ["app:main-1"], "labels": {}, "build_args": {},
              "base": {}, "local": True, "provider": "local", "started_at": "x"}
    (tmp_path / "shipyard-build.json").write_text(json.dumps(report))
    (tmp_path / "shipyard-sbom.cdx.json").write_text(json.dumps({"components": [
        {"name": "six", "version": "1.15.0", "purl": "pkg:pypi/six@1.15.0"},
        {"name": "libc6", "version": "2.36", "purl": "pkg:deb/debian/libc6@2.36"}]}))
    subject = find_subject(str(tmp_path), Path("/"))
    assert subject.image == "app:main-1" and subject.sbom is not None
    assert sbom_distributions(subject.sbom) == [("six", "1.15.0")]
