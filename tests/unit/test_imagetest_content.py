"""Content checks over synthetic `docker save` archives built in memory with tarfile.

Each archive is a real docker-archive (manifest.json, config with rootfs.diff_ids and
history, one tar per layer), so the same code path reads it as reads `docker save`.
Secrets are made at test time from parts, so this file holds none itself.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass

import pytest

from shipyard.image import secrets
from shipyard.image.layers import Entry, FileTree, open_archive, short_step
from shipyard.imagetest.content import (
    ImageContents,
    base_layers,
    compiler_check,
    content_checks,
    find_compilers,
    history_findings,
    human_size,
    scan,
)

ARMOUR = "-----BEGIN " + "OPENSSH PRIVATE KEY-----"
END = "-----END " + "OPENSSH PRIVATE KEY-----"


def fake_key() -> bytes:
    body = base64.b64encode(os.urandom(300)).decode()
    lines = [body[i:i + 70] for i in range(0, len(body), 70)]
    return "\n".join([ARMOUR, *lines, END, ""]).encode()


def fake_cert() -> bytes:
    body = base64.b64encode(os.urandom(200)).decode()
    return ("-----BEGIN CERTIFICATE-----\n" + body[:64] + "\n" + body[64:128]
            + "\n-----END CERTIFICATE-----\n").encode()


GITHUB_TOKEN = "ghp_" + "Ab1" * 12
GITLAB_TOKEN = "glpat-" + "Zz9_" * 5


# -- building archives ----------------------------------------------------------------------------


@dataclass(frozen=True)
class F:
    """A layer member: a file (data), a directory (dir=True) or a symlink (link=...)."""

    name: str
    data: bytes = b""
    mode: int = 0o644
    dir: bool = False
    link: str | None = None


def whiteout(path: str) -> F:
    parent, _, base = path.rpartition("/")
    return F(f"{parent}/.wh.{base}" if parent else f".wh.{base}")


def opaque(directory: str) -> F:
    return F(f"{directory}/.wh..wh..opq")


def layer_tar(members: list[F]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.mode = member.mode
            if member.dir:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif member.link is not None:
                info.type = tarfile.SYMTYPE
                info.linkname = member.link
                tar.addfile(info)
            else:
                info.size = len(member.data)
                tar.addfile(info, io.BytesIO(member.data))
    return buffer.getvalue()


def archive(layers: list[list[F]], history: list[str] | None = None, *, oci: bool = False,
            env: list[str] | None = None) -> io.BytesIO:
    """A docker-archive (legacy layout) or OCI-style layout with gzip layers."""
    tars = [layer_tar(layer) for layer in layers]
    diff_ids = [f"sha256:{hashlib.sha256(t).hexdigest()}" for t in tars]
    steps = history if history is not None else [f"COPY layer{i} /" for i in range(len(tars))]
    config = {"config": {"Env": env or []},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created_by": s} for s in steps]}
    config_bytes = json.dumps(config).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as outer:
        names = []
        for index, data in enumerate(tars):
            if oci:
                data = gzip.compress(data)
                name = f"blobs/sha256/{hashlib.sha256(data).hexdigest()}"
            else:
                name = f"layer{index}/layer.tar"
            names.append(name)
            _add(outer, name, data)
        _add(outer, "config.json", config_bytes)
        _add(outer, "manifest.json", json.dumps(
            [{"Config": "config.json", "RepoTags": ["t:1"], "Layers": names}]).encode())
    buffer.seek(0)
    return buffer


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


BASE = [F("usr", dir=True), F("usr/bin", dir=True), F("bin", link="usr/bin"),
        F("usr/bin/dash", b"\x7fELF...", 0o755), F("usr/bin/sh", link="dash"),
        F("usr/bin/ldd", b"#!/bin/sh", 0o755), F("usr/bin/ld.so", b"\x7fELF", 0o755),
        F("etc", dir=True),
        F("etc/passwd", b"root:x:0:0::/root:/bin/sh\napp:x:10001:10001::/app:/bin/sh\n"),
        F("etc/ssl/certs/ca-certificates.crt", fake_cert() + fake_cert()),
        F("usr/local/lib/python3.11/site-packages/certifi/cacert.pem", fake_cert()),
        F("usr/share/doc/openssl/example.txt",
          f"Keys start with {ARMOUR} and end with {END}.".encode())]


def contents_of(layers: list[list[F]], **kwargs: object) -> ImageContents:
    with open_archive(archive(layers, **kwargs)) as image:  # type: ignore[arg-type]
        return scan(image)


Outcome = tuple[str, str, tuple[str, ...]]


def results(contents: ImageContents, **kwargs: object) -> dict[str, Outcome]:
    return {r.id: (r.status, r.reason, r.details)
            for r in content_checks(contents, **kwargs)}  # type: ignore[arg-type]


# -- the scan -------------------------------------------------------------------------------------


def test_clean_base_passes_every_content_check() -> None:
    """CA certificates, a bare armour string in docs and ELF files are not findings."""
    got = results(contents_of([BASE]))
    assert {k: v[0] for k, v in got.items()} == {
        "content.private_keys": "pass", "content.tokens": "pass", "content.env_files": "pass",
        "content.git": "pass", "content.history": "pass", "content.compilers": "pass",
        "content.size": "pass"}


def test_key_deleted_by_a_later_layer_is_still_found() -> None:
    key = fake_key()
    contents = contents_of([BASE, [F("app", dir=True), F("app/deploy_key", key, 0o600)],
                            [whiteout("app/deploy_key")]],
                           history=["ADD rootfs", "COPY deploy_key /app/deploy_key",
                                    "RUN rm /app/deploy_key"])
    assert contents.tree.stat("/app/deploy_key") is None  # gone from the final filesystem
    status, reason, details = results(contents)["content.private_keys"]
    assert status == "fail"
    assert "/app/deploy_key (deleted by a later layer, still in the image)" in reason
    assert "--mount=type=ssh" in reason
    assert details == ("/app/deploy_key: openssh private key — layer 2/3 `COPY deploy_key "
                       "/app/deploy_key`; removed from the final filesystem by a later layer, "
                       "but still extractable",)


def test_git_folder_is_one_finding_at_its_root() -> None:
    contents = contents_of([BASE, [F("app/.git", dir=True), F("app/.git/HEAD", b"ref: x"),
                                   F("app/.git/config", b"[core]"), F("app/main.py", b"")]])
    status, reason, details = results(contents)["content.git"]
    assert status == "fail"
    assert reason.startswith(".git folder at /app/.git: add .git to .dockerignore")
    assert len(details) == 1


def test_gitignore_and_whiteout_of_git_are_not_git_folders() -> None:
    contents = contents_of([BASE, [F("app/.gitignore", b"*.pyc"), F("app/.github/x.yml")],
                            [whiteout("app/.git")]])
    assert results(contents)["content.git"][0] == "pass"


DETECTORS: list[tuple[str, str, bytes, str, bool]] = [
    # (id, path in the image, content, check, flagged?)
    ("key-in-pem", "app/tls/server.pem", fake_cert() + fake_key(), "content.private_keys", True),
    ("cert-only-pem", "app/tls/chain.pem", fake_cert() + fake_cert(), "content.private_keys",
     False),
    ("bare-armour-in-key-file", "app/tls/server.key", ARMOUR.encode() + b"\n",
     "content.private_keys", False),
    ("ssh-key-name", "root/.ssh/id_ed25519", b"whatever", "content.private_keys", True),
    ("p12-store", "app/client.p12", b"\x30\x82", "content.private_keys", True),
    ("key-in-elf", "usr/lib/libgnutls.so.30", b"\x7fELF" + fake_key(), "content.private_keys",
     False),
    ("github-token", "app/settings.py", f"TOKEN = '{GITHUB_TOKEN}'".encode(), "content.tokens",
     True),
    ("gitlab-token", "app/ci.sh", f"x={GITLAB_TOKEN}\n".encode(), "content.tokens", True),
    ("aws-key", "app/aws.py", b"key = 'AKIA" + b"ABCDEFGHIJKLMNOP'", "content.tokens", True),
    ("aws-docs-example", "app/doc.md", b"AKIA" + b"IOSFODNN7EXAMPLE", "content.tokens", False),
    ("token-in-elf", "usr/lib/libx.so", b"\x7fELF" + GITHUB_TOKEN.encode(), "content.tokens",
     False),
    ("env-file", "app/.env", b"DEBUG=1\n", "content.env_files", True),
    ("env-production", "app/.env.production", b"DEBUG=0\n", "content.env_files", True),
    ("env-template", "app/.env.example", b"DB_PASSWORD=\n", "content.env_files", False),
    ("venv-named-env", "app/.env/bin/python", b"", "content.env_files", False),
    ("env-password", "app/.env", b"# DB_PASSWORD=x\nDB_PASSWORD=hunter2\n", "content.tokens",
     True),
    ("env-empty-password", "app/.env", b"DB_PASSWORD=\nSECRET_KEY=${SECRET}\n",
     "content.tokens", False),
]


@pytest.mark.parametrize(("path", "data", "check", "flagged"), [d[1:] for d in DETECTORS],
                         ids=[d[0] for d in DETECTORS])
def test_detectors(path: str, data: bytes, check: str, flagged: bool) -> None:
    status, reason, _ = results(contents_of([BASE, [F(path, data)]]))[check]
    assert (status == "fail") is flagged, reason
    if flagged:
        assert f"/{path}" in reason
        assert GITHUB_TOKEN not in reason and "hunter2" not in reason


def test_findings_in_a_file_replaced_later_are_marked_removed() -> None:
    contents = contents_of([BASE, [F("app/settings.py", f"T='{GITHUB_TOKEN}'".encode())],
                            [F("app/settings.py", b"T = os.environ['T']")]])
    [finding] = contents.findings
    assert finding.kind == "token" and finding.layer == 2 and finding.removed


def test_opaque_whiteout_empties_the_directory_of_lower_layers_only() -> None:
    contents = contents_of([BASE, [F("app/a"), F("app/b")], [opaque("app"), F("app/c")]])
    assert sorted(p for p in contents.tree.entries if p.startswith("app/")) == ["app/c"]


def test_whiteout_of_a_directory_removes_its_subtree() -> None:
    contents = contents_of([BASE, [F("opt/tool", dir=True), F("opt/tool/bin/x")],
                            [whiteout("opt/tool")]])
    assert not [p for p in contents.tree.entries if p.startswith("opt/tool")]


def test_oci_layout_with_gzip_layers() -> None:
    with open_archive(archive([BASE, [F("app/.env", b"A=1")]], oci=True)) as image:
        contents = scan(image)
        assert (contents.tree.read("/etc/passwd") or b"").startswith(b"root:")
    assert results(contents)["content.env_files"][0] == "fail"


def test_base_layers_are_merged_but_not_searched() -> None:
    image = archive([[*BASE, F("app/.env", b"A=1"), F("usr/bin/make", b"", 0o755)]])
    with open_archive(image) as opened:
        diff_ids = {layer.diff_id for layer in opened.layers()}
        contents = scan(opened, diff_ids)
    assert contents.findings == ()
    assert find_compilers(contents.tree) == [("usr/bin/make", "make")]


def test_ignore_paths_silence_findings() -> None:
    contents = contents_of([BASE, [F("usr/lib/python3/site-packages/pkg/tests/test.key",
                                     fake_key())]])
    got = results(contents, ignore_paths=["usr/lib/python3/site-packages/*/tests/*"])
    assert got["content.private_keys"][0] == "pass"
    assert "1 finding(s) silenced by ignore_paths" in got["content.private_keys"][2]


# -- compilers ------------------------------------------------------------------------------------

COMPILER_LAYER = [F("usr/bin/gcc-12", b"\x7fELF", 0o755), F("usr/bin/gcc", link="gcc-12"),
                  F("usr/bin/x86_64-linux-gnu-gcc-12", b"\x7fELF", 0o755),
                  F("usr/bin/cc", link="/etc/alternatives/cc"),
                  F("etc/alternatives/cc", link="/usr/bin/gcc"),
                  F("usr/bin/make", b"\x7fELF", 0o755), F("usr/bin/ld.bfd", b"\x7fELF", 0o755),
                  F("usr/bin/c++", link="/etc/alternatives/c++"),  # dangling: no g++ installed
                  F("usr/share/doc/gcc/make", b"not in a bin dir"),
                  F("usr/bin/makedepend-helper", b"", 0o755)]


def test_compilers_found_in_the_final_filesystem() -> None:
    tree = contents_of([BASE, COMPILER_LAYER]).tree
    assert find_compilers(tree) == [
        ("usr/bin/cc", "cc"), ("usr/bin/gcc", "gcc"), ("usr/bin/gcc-12", "gcc"),
        ("usr/bin/ld.bfd", "ld.bfd"), ("usr/bin/make", "make"),
        ("usr/bin/x86_64-linux-gnu-gcc-12", "gcc")]


def test_compilers_removed_by_a_later_layer_are_gone() -> None:
    purge = [whiteout(f.name) for f in COMPILER_LAYER]
    assert find_compilers(contents_of([BASE, COMPILER_LAYER, purge]).tree) == []


@pytest.mark.parametrize(("allow", "status", "in_reason"), [
    ((), "fail", "build tools in the final image (cc, make): install them only in the builder"),
    (("cc",), "fail", 'compiler_allow = ["make"]'),
    (("cc", "make"), "pass", "no compiler or build tool"),
    (("gcc-12", "make", "cc"), "pass", "no compiler"),
], ids=["nothing-allowed", "cc-allowed", "all-allowed", "by-file-name"])
def test_compiler_allow_list(allow: tuple[str, ...], status: str, in_reason: str) -> None:
    found = [("usr/bin/cc", "cc"), ("usr/bin/make", "make")]
    if "gcc-12" in allow:
        found = [("usr/bin/gcc-12", "gcc"), ("usr/bin/make", "make"), ("usr/bin/cc", "cc")]
    result = compiler_check(found, allow)
    assert result.status == status
    assert in_reason in result.reason


# -- history and size -----------------------------------------------------------------------------


@pytest.mark.parametrize(("step", "flagged"), [
    (f"RUN |1 GITHUB_TOKEN={GITHUB_TOKEN} /bin/sh -c pip install -r req.txt", True),
    ("RUN |1 DB_PASSWORD=hunter2 /bin/sh -c ./manage.py check", True),
    ("ENV DJANGO_SECRET_KEY=abc123", True),
    ("RUN |1 PIP_INDEX_URL=https://user:s3cret@pypi.example.com/simple /bin/sh -c pip", True),
    ("ARG GITHUB_TOKEN=", False),
    ("RUN |2 APP_UID=10001 APP_GID=10001 /bin/sh -c groupadd app", False),
    ("ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D", False),
    ("ENV SECRET_KEY_FILE=/run/secrets/key", False),
    ("RUN /bin/sh -c pip install --mount=type=secret,id=token", False),
], ids=["token-arg", "password-arg", "env-secret", "url-credentials", "empty-arg",
        "plain-args", "gpg-fingerprint", "secret-file-path", "secret-mount"])
def test_history(step: str, flagged: bool) -> None:
    found = history_findings([{"created_by": "ADD rootfs"}, {"created_by": step}])
    assert bool(found) is flagged
    if flagged:
        assert found[0].startswith("step 2 `")
        assert "hunter2" not in found[0].split("`: ")[1] and GITHUB_TOKEN not in found[0].split(
            "`: ")[1]


def test_size_reports_the_largest_layers() -> None:
    contents = contents_of([BASE, [F("app/big", b"x" * 200_000)], [F("app/small", b"x")]],
                           history=["ADD rootfs", "COPY big /app/big # buildkit",
                                    "/bin/sh -c echo small > /app/small"])
    result = {r.id: r for r in content_checks(contents, image_size=1_234_567)}["content.size"]
    assert result.passed
    assert result.reason.startswith(f"{human_size(contents.size)} in 3 layers; largest layer 2 (")
    assert "docker image inspect reports 1.2 MB" in result.details
    assert "`COPY big /app/big`" in result.reason
    assert result.details[0].startswith("layer 2: ")
    assert any("`RUN echo small > /app/small`" in d for d in result.details)


@pytest.mark.parametrize(("created_by", "shown"), [
    ("/bin/sh -c #(nop)  EXPOSE 8000", "EXPOSE 8000"),
    ("/bin/sh -c apt-get update", "RUN apt-get update"),
    ("COPY . . # buildkit", "COPY . ."),
    ("RUN " + "x" * 100, "RUN " + "x" * 65 + "…"),
    ("/bin/sh -c #(nop) COPY file:" + "8f0272e2" * 8 + " in /app/key ",
     "COPY file:8f0272e2… in /app/key"),
])
def test_short_step(created_by: str, shown: str) -> None:
    assert short_step(created_by) == shown


# -- the final filesystem -------------------------------------------------------------------------


TREE = FileTree({e.path: e for e in [
    Entry("bin", "symlink", linkname="usr/bin"),
    Entry("usr/bin/python3.11", "file", 0o755),
    Entry("usr/bin/python3", "symlink", linkname="python3.11"),
    Entry("usr/local/bin/python", "symlink", linkname="/usr/bin/python3"),
    Entry("usr/bin/broken", "symlink", linkname="/nowhere"),
    Entry("usr/bin/loop", "symlink", linkname="loop"),
    Entry("app/run.sh", "file", 0o755),
    Entry("app/up", "symlink", linkname="../usr/bin/python3"),
]}, loader=lambda entry: entry.path.encode())


@pytest.mark.parametrize(("path", "resolved"), [
    ("/bin/python3", "usr/bin/python3.11"),
    ("bin/python3.11", "usr/bin/python3.11"),
    ("/usr/local/bin/python", "usr/bin/python3.11"),
    ("/app/up", "usr/bin/python3.11"),
    ("/usr/bin/broken", None),
    ("/usr/bin/loop", None),
    ("/usr", "usr"),  # implicit directory (no entry of its own)
    ("/", ""),
    ("/app/run.sh/x", None),
    ("/usr/bin/../bin/python3", "usr/bin/python3.11"),
])
def test_tree_resolves_symlinks(path: str, resolved: str | None) -> None:
    entry = TREE.stat(path)
    assert (entry.path if entry else None) == resolved


@pytest.mark.parametrize(("program", "search", "workdir", "found"), [
    ("python", "/usr/local/bin:/usr/bin", "/", "/usr/local/bin/python"),
    ("python3", "/opt/venv/bin:/bin", "/", "/bin/python3"),
    ("curl", "/usr/local/bin:/usr/bin:/bin", "/", None),
    ("/app/run.sh", "", "/", "/app/run.sh"),
    ("./run.sh", "", "/app", "/app/run.sh"),
    ("broken", "/usr/bin", "/", None),
])
def test_tree_which(program: str, search: str, workdir: str, found: str | None) -> None:
    assert TREE.which(program, search, workdir) == found


def test_tree_read_follows_symlinks() -> None:
    assert TREE.read("/bin/python3") == b"usr/bin/python3.11"
    assert TREE.read("/usr") is None


# -- the secret rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "secret"), [
    ("DJANGO_SECRET_KEY", True), ("DB_PASSWORD", True), ("api-token", True),
    ("AWS_SECRET_ACCESS_KEY", True), ("STRIPE_API_KEY", True), ("ACCESS_KEY", True),
    ("GPG_KEY", False), ("SECRET_KEY_FILE", False), ("TOKEN_TTL", False), ("PATH", False),
    ("PYTHON_SHA256", False), ("org.opencontainers.image.revision", False),
    ("KEYCLOAK_URL", False), ("PASSWORD_RESET_TIMEOUT", False),
])
def test_secret_names(name: str, secret: bool) -> None:
    assert secrets.is_secret_name(name) is secret


@pytest.mark.parametrize(("text", "whats"), [
    (ARMOUR + "\n" + "A" * 70, ["openssh private key"]),
    (ARMOUR, []),
    ("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES,1\n\n" + "B" * 64,
     ["rsa private key"]),
    ("PuTTY-User-Key-File-3: ssh-ed25519\n", ["PuTTY private key"]),
    (f"t={GITHUB_TOKEN}", ["GitHub token (ghp_… 40 chars)"]),
    (f"t={GITHUB_TOKEN}x", []),  # too long: not that format
    ("https://user:pw@example.com/x", ["a URL with a password (scheme://user:password@host)"]),
    ("https://user:$TOKEN@example.com/x", []),
])
def test_text_secrets(text: str, whats: list[str]) -> None:
    assert [h.what for h in secrets.text_secrets(text)] == whats


class FakeEngine:
    def __init__(self, images: dict[str, list[str]]) -> None:
        self.images = images

    def exists(self, ref: str, kind: str = "image") -> bool:
        return ref in self.images

    def inspect(self, ref: str, kind: str = "image") -> dict[str, object]:
        return {"RootFS": {"Layers": self.images[ref]}}


@pytest.mark.parametrize(("label", "found", "note"), [
    ("docker.io/library/python:3.11-slim", {"sha256:a"},
     "skipped the layers of python:3.11-slim"),
    ("python:3.11-slim", {"sha256:a"}, "skipped the layers of python:3.11-slim"),
    ("registry.example.com/base:1", set(), "is not in the local engine"),
    ("", set(), "has no org.opencontainers.image.base.name label"),
], ids=["docker-hub-name", "short-name", "not-local", "no-label"])
def test_base_layers(label: str, found: set[str], note: str) -> None:
    inspect = {"Config": {"Labels": {"org.opencontainers.image.base.name": label}}}
    layers, said = base_layers(FakeEngine({"python:3.11-slim": ["sha256:a"]}),  # type: ignore[arg-type]
                               inspect)
    assert layers == found
    assert note in said


# -- who shipped a key ----------------------------------------------------------------------------

SITE = "opt/venv/lib/python3.11/site-packages"


def _dist(name: str, version: str, files: list[str], direct_url: bytes | None = None
          ) -> list[F]:
    info = f"{SITE}/{name}-{version}.dist-info"
    record = "".join(f"{path},sha256=x,1\n" for path in [*files, f"{info[len(SITE) + 1:]}/RECORD"])
    members = [F(f"{info}/RECORD", record.encode())]
    if direct_url is not None:
        members.append(F(f"{info}/direct_url.json", direct_url))
    return members


def test_a_key_in_a_third_party_packages_test_data_is_a_warning_naming_the_package() -> None:
    key_path = f"{SITE}/aiosmtpd/tests/certs/server.key"
    contents = contents_of([BASE, [F(key_path, fake_key()),
                                   *_dist("aiosmtpd", "1.4.6", ["aiosmtpd/tests/certs/server.key",
                                                                "aiosmtpd/__init__.py"])]])
    status, reason, details = results(contents)["content.private_keys"]
    assert status == "pass"
    assert reason.startswith(f"warning: private key at /{key_path}, shipped by the installed"
                             " package aiosmtpd 1.4.6")
    assert ".dockerignore cannot exclude it" in reason
    assert details[0].endswith("from aiosmtpd 1.4.6 (a third-party package)")


def test_a_key_of_the_app_itself_stays_an_error_even_when_installed_as_a_package() -> None:
    key_path = f"{SITE}/myapp/certs/dev.key"
    local = json.dumps({"url": "file:///app", "dir_info": {}}).encode()
    contents = contents_of([BASE, [F(key_path, fake_key()),
                                   *_dist("myapp", "0.1.0", ["myapp/certs/dev.key"], local),
                                   F("app/deploy.key", fake_key())]])
    status, reason, details = results(contents)["content.private_keys"]
    assert status == "fail"
    assert "add key files to .dockerignore" in reason
    assert any(d.endswith("from myapp 0.1.0 (installed from the project's own source)")
               for d in details)


def test_a_third_party_key_next_to_an_own_key_fails_for_the_own_one() -> None:
    contents = contents_of([BASE, [F(f"{SITE}/aiosmtpd/tests/certs/server.key", fake_key()),
                                   *_dist("aiosmtpd", "1.4.6", ["aiosmtpd/tests/certs/server.key"]),
                                   F("app/deploy.key", fake_key())]])
    status, reason, details = results(contents)["content.private_keys"]
    assert status == "fail"
    assert reason.startswith("private key material at /app/deploy.key:")
    assert any("from aiosmtpd 1.4.6 (a third-party package)" in d for d in details)


def test_a_key_no_record_lists_is_the_apps_own() -> None:
    contents = contents_of([BASE, [F(f"{SITE}/vendored/server.key", fake_key()),
                                   *_dist("other", "1.0", ["other/__init__.py"])]])
    assert results(contents)["content.private_keys"][0] == "fail"
