"""`shipyard publish --archive`: only the archive of the build the report describes is
pushed; anything else is refused before Buildah or the registry is asked."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from shipyard.errors import UsageError
from shipyard.image.buildreport import BuildReport
from shipyard.publish.publish import publish

BUILT = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64


class NoBuildah:
    """Fails the test if the publish gets as far as pushing."""

    def push_archive(self, *_: object, **__: object) -> str:
        raise AssertionError("pushed an archive that is not the build's")


def _report(tmp_path: Path) -> Path:
    report = BuildReport(image_id=BUILT, repository="127.0.0.1:5000/app", unique_tag="main-1",
                         tags=["main-1"], refs=["127.0.0.1:5000/app:main-1"], labels={},
                         build_args={}, base={}, local=False, provider="gitlab",
                         started_at="2026-11-30T00:00:00Z")
    path = tmp_path / "shipyard-build.json"
    path.write_text(report.to_json())
    return path


def _archive(path: Path, image_id: str) -> Path:
    with tarfile.open(path, "w") as tar:
        data = json.dumps([{"Config": f"{image_id[7:]}.json"}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, fileobj=io.BytesIO(data))
    return path


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: _archive(p / "image.tar", OTHER), rf"image\.tar holds {OTHER}, not the build"),
    (lambda p: p / "image.tar", r"image\.tar is no image archive"),
])
def test_an_archive_of_another_build_or_none_is_refused(tmp_path: Path, make: object,
                                                        message: str) -> None:
    report = _report(tmp_path)
    archive = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(UsageError, match=message):
        publish(tmp_path, report_path=report, env={}, archive=archive,
                buildah=NoBuildah())  # type: ignore[arg-type]
