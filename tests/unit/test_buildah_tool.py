"""The Buildah wrapper's pure parts: its argv, and the config normalisation that makes two
builds of one commit one digest."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from shipyard.config import load_config
from shipyard.errors import ConfigError
from shipyard.tools.buildah import (
    archive_image_id,
    buildah_argv,
    normalised_config,
    push_argv,
    write_docker_archive,
)
from shipyard.tools.docker import BuildSecret, BuildSpec


def test_argv_keeps_healthchecks_fixes_times_and_never_uses_the_layer_cache() -> None:
    spec = BuildSpec(context=Path("/src"), dockerfile=Path("/src/Dockerfile"), tags=("a:1",),
                     build_args={"B": "2", "A": "1"}, labels={"l": "v"},
                     secrets=(BuildSecret("ca_bundle", Path("/ca.pem")),), ssh=("default",),
                     no_cache=True)
    argv = buildah_argv(spec, Path("/tmp/iid"), 1_700_000_000)
    assert argv[:3] == ["build", "--format", "docker"]
    assert "--layers" not in argv  # Buildah 1.28 keys cached steps before ARG expansion
    assert argv[argv.index("--timestamp") + 1] == "1700000000"
    assert argv[argv.index("--secret") + 1] == "id=ca_bundle,src=/ca.pem"
    assert [argv[i + 1] for i, word in enumerate(argv) if word == "--build-arg"] == ["A=1", "B=2"]
    assert argv[-2:] == ["--no-cache", "/src"]


def test_argv_without_timestamp_leaves_buildah_to_the_clock() -> None:
    assert "--timestamp" not in buildah_argv(BuildSpec(context=Path()), Path("/i"), None)


RUN_ONE = {"created": "1970-01-01T00:00:00Z", "container": "d56c", "parent": "sha256:fce4",
           "container_config": {"Hostname": "9c05"},
           "config": {"Hostname": "9c05", "User": "10001", "Healthcheck": {"Test": ["CMD"]}},
           "rootfs": {"type": "layers", "diff_ids": ["sha256:1"]},
           "history": [{"created_by": "/bin/sh -c x", "comment": "FROM fce4"}]}
RUN_TWO = {**RUN_ONE, "container": "78bb", "parent": "sha256:e341",
           "container_config": {"Hostname": "cf62"},
           "config": {**RUN_ONE["config"], "Hostname": "cf62"},  # type: ignore[dict-item]
           "history": [{"created_by": "/bin/sh -c x", "comment": "FROM e341"}]}


def test_two_runs_of_one_build_normalise_to_one_config() -> None:
    first, second = normalised_config(RUN_ONE), normalised_config(RUN_TWO)
    assert first == second
    assert first["config"]["Healthcheck"] == {"Test": ["CMD"]}  # what matters is kept
    assert "container" not in first and "parent" not in first


def _exported(root: Path, config: dict[str, object]) -> Path:
    root.mkdir()
    blob = json.dumps(config).encode()
    (root / "cfg").write_bytes(blob)
    (root / "layer1").write_bytes(b"tar bytes")
    (root / "manifest.json").write_text(json.dumps({
        "config": {"digest": "sha256:cfg"}, "layers": [{"digest": "sha256:layer1"}]}))
    return root


def test_docker_archive_ids_agree_for_two_runs_and_load_as_docker_expects(tmp_path: Path) -> None:
    one = write_docker_archive(_exported(tmp_path / "one", RUN_ONE), ["app:1"], tmp_path / "1.tar")
    two = write_docker_archive(_exported(tmp_path / "two", RUN_TWO), ["app:2"], tmp_path / "2.tar")
    assert one == two and one.startswith("sha256:")
    with tarfile.open(tmp_path / "1.tar") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest == [{"Config": f"{one[7:]}.json", "RepoTags": ["app:1"],
                             "Layers": ["layer1/layer.tar"]}]
        assert tar.extractfile("layer1/layer.tar").read() == b"tar bytes"  # type: ignore[union-attr]


def test_an_archive_names_the_image_it_holds(tmp_path: Path) -> None:
    written = write_docker_archive(_exported(tmp_path / "one", RUN_ONE), ["app:1"],
                                   tmp_path / "1.tar")
    assert archive_image_id(tmp_path / "1.tar") == written


HEX = "ab" * 32


@pytest.mark.parametrize(("manifest", "expected"), [
    ([{"Config": f"{HEX}.json"}], f"sha256:{HEX}"),  # docker save up to 24
    ([{"Config": f"blobs/sha256/{HEX}"}], f"sha256:{HEX}"),  # docker save 25+ (OCI layout)
    ([{"Config": f"{HEX}.json"}, {"Config": f"{HEX}.json"}], None),  # two images
    ([{"Config": "short.json"}], None),
    ({"Config": f"{HEX}.json"}, None),
    (None, None),  # no manifest.json at all
])
def test_archive_image_id_reads_both_docker_layouts_and_nothing_else(
    tmp_path: Path, manifest: object, expected: str | None,
) -> None:
    archive = tmp_path / "a.tar"
    with tarfile.open(archive, "w") as tar:
        if manifest is not None:
            data = json.dumps(manifest).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert archive_image_id(archive) == expected
    (tmp_path / "junk").write_bytes(b"not a tar")
    assert archive_image_id(tmp_path / "junk") is None


@pytest.mark.parametrize(("authfile", "tls", "expected"), [
    (None, True, ["push", "--quiet", "--format", "v2s2", "--digestfile", "/d", "img",
                  "docker://reg.example.com/app:1"]),
    (Path("/a.json"), False, ["push", "--quiet", "--format", "v2s2", "--digestfile", "/d",
                              "--authfile", "/a.json", "--tls-verify=false", "img",
                              "docker://reg.example.com/app:1"]),
])
def test_push_keeps_docker_format_and_passes_credentials_only_as_a_file(
    authfile: Path | None, tls: bool, expected: list[str],
) -> None:
    assert push_argv("img", "reg.example.com/app:1", Path("/d"), authfile, tls) == expected


@pytest.mark.parametrize(("value", "ok"), [('"buildah"', True), ('"docker"', True),
                                           ('"kaniko"', False)])
def test_builder_key_is_strict(tmp_path: Path, value: str, ok: bool) -> None:
    (tmp_path / "shipyard.toml").write_text(f"builder = {value}\n")
    if ok:
        assert load_config(tmp_path).builder == value.strip('"')
    else:
        with pytest.raises(ConfigError, match=r"builder.*must be one of docker, buildah"):
            load_config(tmp_path)
