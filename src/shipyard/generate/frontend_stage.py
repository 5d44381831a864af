"""The JavaScript build stage, and what the builder takes from it (pure text).

Why a stage of its own: Node or bun never reaches the Python builder or the runtime
image, and BuildKit runs it alongside the Python dependency install. Why "every file
the build wrote": a build script can write anywhere (Vite's `outDir:
"../backend/app/frontend"`, rollup into `bookmarks/static/`), and Shipyard cannot
read a bundler's configuration. So the stage mirrors the build context's layout under
/src, marks the time before the build, and copies every file newer than the mark
(outside node_modules) to /out with its path; the builder lays /out over its own /src
right after the sources, before the app is installed, collectstatic runs or the
import check imports it.
"""

from __future__ import annotations

import shlex

from shipyard.buildsecrets import CA_SECRET_ID
from shipyard.detect.frontend import FrontendBuild
from shipyard.generate import stages

STAGE = "frontend"
BUILDER_COPY = f"COPY --from={STAGE} /out/ /src/\n"
_CACHES = {"npm": "/root/.npm", "yarn": "/usr/local/share/.cache/yarn",
           "pnpm": "/root/.local/share/pnpm/store", "bun": "/root/.bun/install/cache"}
_CA_ENV = (f"if [ -f /run/secrets/{CA_SECRET_ID} ]; then"
           f" export NODE_EXTRA_CA_CERTS=/run/secrets/{CA_SECRET_ID}; fi")
_MARK = "/frontend-build/start"  # outside /src, so never output itself
_LIST = "/frontend-build/files"
_TAR = "/frontend-build/out.tar"  # a file, not a pipe: a failing tar fails the RUN
# What counts as build output: files newer than the mark, outside dependency trees;
# TypeScript's incremental state is not output.
_COLLECT = (f"find . -name node_modules -prune -o -type f -newer {_MARK}"
            f" ! -name '*.tsbuildinfo' -print > {_LIST}")


def stage(build: FrontendBuild) -> str:
    """The `frontend` stage; paths are relative to the build context (mirrored in /src)."""
    where = "" if build.directory == "." else f" in {build.directory}/"
    lines = [
        f"# JavaScript build{where}: `{build.build_command}` ({build.manager}, from"
        f" {_at(build.install_dir, build.lock)}).",
        "# The manifests and the lock come first, so a change to the code alone reuses the",
        "# install layer; the builder takes every file the build wrote (/out, paths kept).",
        "# Built on the build machine's platform: the output is the same for every target.",
        f"FROM --platform=$BUILDPLATFORM {build.image} AS {STAGE}",
        "WORKDIR /src",
    ]
    if build.manager in ("yarn", "pnpm"):
        lines += [
            "# corepack fetches yarn/pnpm: the version package.json's packageManager names, else",
            "# the one this corepack knows (not \"latest\": repeatable, no signature lookups).",
            "ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0 COREPACK_DEFAULT_TO_LATEST=0",
        ]
    lines += _copies([*build.manifests, _at(build.install_dir, build.lock)])
    if build.install_dir != ".":
        lines.append(f"WORKDIR {_abs(build.install_dir)}")
    lines += [
        f"RUN --mount=type=cache,target={_CACHES[build.manager]} \\",
        f"    --mount=type=secret,id={CA_SECRET_ID} \\",
        f"    {_CA_ENV}; \\",
        f"    {build.install}",
    ]
    if build.directory == "." or build.install_dir == ".":
        sources = ["."] if build.directory == "." else [build.directory, *build.workspace_dirs]
    else:
        sources = [build.directory, *build.workspace_dirs]
    lines += [f"COPY {_q(s)} {_q(s)}" if s != "." else "COPY . ." for s in sources]
    if build.directory != build.install_dir:
        lines.append(f"WORKDIR {_abs(build.directory)}")
    lines += [
        f"RUN mkdir -p /frontend-build && touch {_MARK} \\",
        f" && {build.build_command} \\",
        f" && cd /src && mkdir -p /out && {_COLLECT} \\",
        f" && tar -cf {_TAR} -T {_LIST} && tar -xf {_TAR} -C /out",
    ]
    return "\n".join(lines) + "\n"


def add_to_dockerfile(text: str, build: FrontendBuild | None, member: str | None) -> str:
    """The Dockerfile (already rewritten for a uv workspace member, if any) with the stage
    before the builder and its output over the sources, right after they are copied
    (`COPY . .`, or `COPY <member> .`). /out's paths are relative to the context root,
    so /src/ is right either way."""
    if build is None:
        return text
    sources = f"COPY {member} .\n" if member else "COPY . .\n"
    comment = "# What the JavaScript build wrote (stage `frontend`), laid over the sources.\n"
    text = text.replace(sources, sources + comment + BUILDER_COPY, 1)
    return stages.insert_helper(text, stage(build))


def ignore_lines(build: FrontendBuild | None, allow_list: bool) -> str:
    """Lines for the context filter: dependency trees never enter the context, and a
    filter that starts from `*` (a uv workspace root) must let the JavaScript files in."""
    if build is None:
        return ""
    lines = ["# the JavaScript build (stage `frontend`)"]
    if allow_list:
        lines += [f"!{_at(build.install_dir, build.lock)}", *(f"!{m}" for m in build.manifests),
                  *(f"!{d}" for d in (build.directory, *build.workspace_dirs) if d != ".")]
    lines.append("**/node_modules")
    return "\n".join(lines) + "\n"


def _copies(paths: list[str]) -> list[str]:
    """COPY lines grouped by target directory (one layer per directory)."""
    by_dir: dict[str, list[str]] = {}
    for path in dict.fromkeys(paths):
        directory = path.rsplit("/", 1)[0] + "/" if "/" in path else "./"
        by_dir.setdefault(directory, []).append(path)
    return [f"COPY {' '.join(_q(p) for p in files)} {_q(directory)}"
            for directory, files in by_dir.items()]


def _at(directory: str, name: str) -> str:
    return name if directory == "." else f"{directory}/{name}"


def _abs(directory: str) -> str:
    return "/src" if directory == "." else f"/src/{directory}"


def _q(path: str) -> str:
    return shlex.quote(path)
