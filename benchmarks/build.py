"""Build benchmark: the Dockerfile `shipyard init` generates vs a naive single-stage one.

Why: Shipyard's claims about its generated Dockerfile (small runtime image,
code-only changes rebuild in seconds because the dependency layer is cached)
are only worth something next to a baseline. This script builds the Django
example (examples/django-app) both ways in one run, on the same machine and
engine, so the ratios are comparable even when absolute times are not.

For each variant it measures:
  1. cold build time  -- `--no-cache` build into a unique tag;
  2. code-only rebuild -- append a comment to guestbook/views.py, rebuild with cache;
  3. image size        -- `docker image inspect --format {{.Size}}`;
  4. whether the dependency layer survived the code-only change, read exactly
     from the image config in `docker save` output.

It is a benchmark, not a test: it exits 0 even when a target is missed, but
says MISSED loudly. Run `scripts/test` (or `source .testbed/env`) first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tables import text_report  # benchmarks/tables.py: run as a script, this dir is on the path

from shipyard.image.layers import layer_for_step
from shipyard.init import init
from shipyard.tools.docker import BuildSecret, BuildSpec, Docker

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "django-app"
BASELINES = ROOT / "benchmarks" / "baselines"
NAIVE_DOCKERFILE = BASELINES / "django-naive.Dockerfile"
NAIVE_ENTRYPOINT = BASELINES / "django-naive-entrypoint.sh"
RESULTS = ROOT / "benchmarks" / "results" / "build.json"
# Same exclusions as the integration tests: local build debris must not reach the context.
IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.egg-info", "build", ".venv", "var", "static.dist", "*.mo")
# The history step that creates each variant's dependency layer.
DEPENDENCY_STEP = {"generated": "/opt/venv /opt/venv", "naive": "pip install"}

# Targets: (key, description, limit). Ratios are generated/naive.
REBUILD_TARGET = 0.15
SIZE_TARGET = 0.7


@dataclass
class Variant:
    """What one Dockerfile produced: times in seconds, size in bytes."""

    name: str
    cold_build_s: float
    code_rebuild_s: float
    image_bytes: int
    dependency_layer: str
    dependency_layer_after_change: str

    @property
    def dependency_layer_reused(self) -> bool:
        return self.dependency_layer == self.dependency_layer_after_change


def _ca_secret() -> BuildSecret:
    """The optional CA bundle both Dockerfiles accept, so pip works behind a TLS proxy."""
    bundle = os.environ.get("SHIPYARD_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    return BuildSecret("ca_bundle", Path(bundle))


def _timed_build(docker: Docker, context: Path, dockerfile: Path, tag: str,
                 no_cache: bool) -> float:
    """Wall-clock seconds of one build; the wrapper raises (with the log) on failure."""
    spec = BuildSpec(context=context, dockerfile=dockerfile, tags=(tag,),
                     secrets=(_ca_secret(),), no_cache=no_cache)
    start = time.perf_counter()
    docker.build(spec)
    return time.perf_counter() - start


def _prepare(variant: str, workdir: Path) -> tuple[Path, Path]:
    """A fresh copy of the example set up for variant; returns (context, dockerfile)."""
    context = workdir / variant / "django-app"
    shutil.copytree(EXAMPLE, context, ignore=IGNORE)
    if variant == "generated":
        init(context)
        return context, context / "Dockerfile"
    # The baseline's header: entrypoint copied in as docker-entrypoint.sh, file via -f.
    shutil.copy2(NAIVE_ENTRYPOINT, context / "docker-entrypoint.sh")
    return context, NAIVE_DOCKERFILE


def measure(docker: Docker, variant: str, workdir: Path, tags: list[str]) -> Variant:
    """Cold build, code-only rebuild, size and dependency-layer identity for one variant."""
    context, dockerfile = _prepare(variant, workdir)
    run_id = uuid.uuid4().hex[:10]
    cold_tag = f"shipyard-bench/guestbook-{variant}:{run_id}"
    warm_tag = f"{cold_tag}-code-change"
    tags += [cold_tag, warm_tag]
    print(f"[{variant}] cold build ...", file=sys.stderr, flush=True)
    cold = _timed_build(docker, context, dockerfile, cold_tag, no_cache=True)
    views = context / "guestbook" / "views.py"
    # Unique per run: BuildKit's cache is content-addressed, so a fixed comment would
    # hit the cache left by an earlier run (or by the integration test) and time nothing.
    views.write_text(views.read_text(encoding="utf-8") + f"\n# a code-only change {run_id}\n",
                     encoding="utf-8")
    print(f"[{variant}] code-only rebuild ...", file=sys.stderr, flush=True)
    warm = _timed_build(docker, context, dockerfile, warm_tag, no_cache=False)
    size = int(docker.run(["image", "inspect", "--format", "{{.Size}}", cold_tag]).stdout)
    step = DEPENDENCY_STEP[variant]
    return Variant(
        name=variant,
        cold_build_s=round(cold, 2),
        code_rebuild_s=round(warm, 2),
        image_bytes=size,
        dependency_layer=layer_for_step(docker, cold_tag, step),
        dependency_layer_after_change=layer_for_step(docker, warm_tag, step),
    )


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def report(generated: Variant, naive: Variant, docker: Docker) -> dict[str, Any]:
    """The JSON document: machine, both variants, ratios and targets with pass/fail."""
    rebuild_ratio = _ratio(generated.code_rebuild_s, naive.code_rebuild_s)
    size_ratio = _ratio(generated.image_bytes, naive.image_bytes)
    targets: list[dict[str, Any]] = [
        {"name": "code-only rebuild", "rule": f"generated <= {REBUILD_TARGET} x naive",
         "value": rebuild_ratio,
         "passed": rebuild_ratio is not None and rebuild_ratio <= REBUILD_TARGET},
        {"name": "dependency layer unchanged", "rule": "generated reuses its venv layer",
         "value": generated.dependency_layer_reused,
         "passed": generated.dependency_layer_reused},
        {"name": "image size", "rule": f"generated <= {SIZE_TARGET} x naive",
         "value": size_ratio, "passed": size_ratio is not None and size_ratio <= SIZE_TARGET},
    ]
    variants: dict[str, dict[str, Any]] = {}
    for v in (generated, naive):
        variants[v.name] = {**asdict(v), "dependency_layer_reused": v.dependency_layer_reused}
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "example": "examples/django-app",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "docker_server": docker.ping(),
            "docker_client": docker.client_version(),
        },
        "variants": variants,
        "ratios": {
            "cold_build": _ratio(generated.cold_build_s, naive.cold_build_s),
            "code_rebuild": rebuild_ratio,
            "image_size": size_ratio,
        },
        "targets": targets,
        "all_targets_met": all(t["passed"] for t in targets),
    }


def table(doc: dict[str, Any]) -> str:
    """A plain-text table: metric, generated, naive, ratio generated/naive; then targets."""
    g, n, r = doc["variants"]["generated"], doc["variants"]["naive"], doc["ratios"]

    def mb(size: int) -> str:
        return f"{size / 1e6:.1f} MB"

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    rows = [
        ("metric", "generated", "naive", "ratio gen/naive"),
        ("cold build (s)", f"{g['cold_build_s']:.1f}", f"{n['cold_build_s']:.1f}",
         fmt(r["cold_build"])),
        ("code-only rebuild (s)", f"{g['code_rebuild_s']:.1f}", f"{n['code_rebuild_s']:.1f}",
         fmt(r["code_rebuild"])),
        ("image size", mb(g["image_bytes"]), mb(n["image_bytes"]), fmt(r["image_size"])),
        ("dependency layer reused", "yes" if g["dependency_layer_reused"] else "no",
         "yes" if n["dependency_layer_reused"] else "no", "-"),
    ]
    return text_report(rows, doc["targets"])


def main(argv: list[str] | None = None) -> int:
    """Build both variants, print the table (or JSON), write results/build.json, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print the JSON document")
    parser.add_argument("--keep", action="store_true", help="keep the built images")
    args = parser.parse_args(argv)

    docker = Docker()
    docker.ping()
    tags: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="shipyard-bench-"))
    try:
        generated = measure(docker, "generated", workdir, tags)
        naive = measure(docker, "naive", workdir, tags)
        doc = report(generated, naive, docker)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.keep:
            print("kept images: " + " ".join(tags), file=sys.stderr)
        else:
            docker.remove_images(tags)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=2) if args.json else table(doc))
    if not doc["all_targets_met"]:
        print("MISSED: at least one target was not met (see above)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
