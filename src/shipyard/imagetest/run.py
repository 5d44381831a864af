"""`test_image`: every check for one image, in order, as a Report.

Order and why: metadata first (one `inspect`, instant, and it explains later
failures — a missing healthcheck makes `runtime.healthy` meaningless); then the
content scan (`docker save`, seconds) and the structure tests that read the same
files; then the containers: the smoke command, and the hardened run with its probe
(runtime.py), which take as long as the app needs to become healthy.

Expected failures of the *image* are results, never exceptions: a report with
failed checks is the normal outcome. Exceptions (ShipyardError) are for the run
itself going wrong — no such image, no engine, an invalid structure-test file.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from shipyard import appenv, backing, healthprobe
from shipyard.config import Config
from shipyard.image import layers, metadata
from shipyard.image.results import CheckResult, timed
from shipyard.imagetest import content, services, structure
from shipyard.imagetest.report import Report
from shipyard.imagetest.runtime import Runner, RunSettings
from shipyard.tools.docker import Docker
from shipyard.tools.git import GitRepo, NoCommits

OnResult = Callable[[CheckResult], None]


@dataclass(frozen=True)
class Plan:
    """The effective settings for one run (config defaults resolved), as data."""

    run: RunSettings
    required_labels: tuple[str, ...]
    compiler_allow: tuple[str, ...]
    ignore_paths: tuple[str, ...]
    ignore_base_layers: bool
    structure_files: tuple[Path, ...]


def plan(image: str, config: Config, project_dir: Path,
         image_env: Sequence[str] = ()) -> Plan:
    """Resolve `[tool.shipyard.test]` against the top-level settings (pure).

    image_env: the image's ENV ("KEY=value", as `docker inspect` gives it).
    """
    test = config.test
    probe = health_probe(config, image_env)
    run = RunSettings(
        image=image,
        port=test.port if test.port is not None else config.port,
        health_path=probe.path,
        health_any_answer=probe.any_answer,
        health_timeout=test.health_timeout,
        stop_grace=test.stop_grace,
        volumes=test.volumes,
        env=dict(test.env),
        smoke=test.smoke,
        acceptance=test.acceptance,
        acceptance_timeout=test.acceptance_timeout,
        project_dir=project_dir,
    )
    return Plan(run, test.required_labels, test.compiler_allow, test.ignore_paths,
                test.ignore_base_layers,
                tuple(project_dir / path for path in test.structure_tests))


def test_image(image: str, config: Config | None = None, project_dir: Path | None = None, *,
               docker: Docker | None = None, on_result: OnResult | None = None) -> Report:
    """Run every check against `image` (a local tag or id) and return the Report.

    config: the project's settings (default: all defaults). project_dir: where the
    acceptance command runs, structure-test paths are relative to, and whose git HEAD
    the revision label is compared with (default: config.project_dir).
    """
    began = time.monotonic()
    docker = docker or Docker()
    project = project_dir or (config.project_dir if config else Path.cwd())
    config = config or Config(project_dir=project)
    inspect = docker.inspect(image)
    settings = plan(image, config, project, (inspect.get("Config") or {}).get("Env") or ())
    suites = [structure.load_suite(path) for path in settings.structure_files]
    run = replace(settings.run, has_healthcheck=metadata.healthcheck_test(
        inspect.get("Config") or {}) is not None)
    results: list[CheckResult] = []
    notes: list[str] = []
    database_needs = _missing_env(run, inspect)
    run = _with_throwaway_env(run, inspect, notes)

    def emit(new: list[CheckResult]) -> None:
        results.extend(new)
        for result in new:
            if on_result is not None:
                on_result(result)

    with tempfile.TemporaryDirectory(prefix="shipyard-test-") as tmp:
        scan_began = time.monotonic()
        archive_path = layers.save_image(docker, image, Path(tmp))
        with layers.open_archive(archive_path) as archive:
            base: set[str] = set()
            if settings.ignore_base_layers:
                base, note = content.base_layers(docker, inspect)
                notes.append(note)
            contents = content.scan(archive, base)
            installed = services.distributions(contents.tree.entries)
            scan_seconds = time.monotonic() - scan_began
            expected = metadata.Expected(run.port, settings.required_labels,
                                         *_head(project))
            emit(metadata.metadata_checks(inspect, contents.tree, expected))
            content_results = content.content_checks(
                contents, compiler_allow=settings.compiler_allow,
                ignore_paths=settings.ignore_paths, image_size=inspect.get("Size"))
            scanned = (f"docker save and scan: {scan_seconds:.1f} s", *notes)
            emit([replace(r, duration=scan_seconds, details=(*r.details, *scanned))
                  if r.id == "content.size" else r for r in content_results])
            if suites:
                emit(structure.run_suites(suites, docker=docker, image=image,
                                          config=inspect.get("Config") or {},
                                          tree=contents.tree))
    labelled = _labelled_backing(inspect)
    usable, backing_notes = services.plan_backing(
        labelled, installed, lambda kind: _backing_image(config, kind),
        lambda image: bool(docker.has_image(image)))
    decision = services.decide(database_needs, installed, config.test.postgres_image,
                               bool(docker.has_image(config.test.postgres_image)))
    if usable:
        with services.throwaway_backing(docker, usable,
                                        lambda kind: _backing_image(config, kind)) as started:
            notes.append(started.note + "".join(f"; {n}" for n in backing_notes))
            _run_containers(docker, replace(run, env={**run.env, **started.app_env},
                                            probe_env=started.probe_env,
                                            network=started.network), emit)
    elif decision.postgres and not labelled:
        with services.throwaway_postgres(docker, config.test.postgres_image) as server:
            app_env, probe_env = services.database_env(decision, server)
            notes.append(decision.reason + f" (network {server.network}, removed afterwards)")
            _run_containers(docker, replace(run, env={**run.env, **app_env},
                                            probe_env=probe_env, network=server.network), emit)
    else:
        notes += backing_notes
        if decision.reason and not labelled:
            notes.append(decision.reason)
        _run_containers(docker, run, emit)
    return Report(image, str(inspect.get("Id", "")), tuple(results),
                  time.monotonic() - began, tuple(notes))


def _run_containers(docker: Docker, run: RunSettings,
                    emit: Callable[[list[CheckResult]], None]) -> None:
    runner = Runner(docker, run)
    emit([timed(runner.smoke)])
    emit(runner.run())


def _labelled_backing(inspect: dict[str, Any]) -> tuple[backing.Backing, ...]:
    """The backing services init wrote into the image's label (shipyard.backing)."""
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    return backing.decode(labels.get(backing.LABEL, ""))


def _backing_image(config: Config, kind: str) -> str:
    return config.test.postgres_image if kind == "postgres" else backing.KINDS[kind].image


def _missing_env(run: RunSettings, inspect: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, kind) the image's label asks for and [tool.shipyard.test.env] does not give."""
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    return appenv.missing(appenv.decode(labels.get(appenv.LABEL, "")), run.env)


def health_probe(config: Config, image_env: Sequence[str]) -> healthprobe.HealthProbe:
    """Which health URL to ask, and how strictly: a configured path wins (test section,
    then top level); else the one `shipyard init` wrote into the image's ENV — the image
    carries the value, so the test asks what its HEALTHCHECK asks; else /healthz."""
    configured = config.test.health_path or config.health_path
    if configured:
        return healthprobe.HealthProbe(configured, origin="from [tool.shipyard] health_path",
                                       configured=True)
    from_image = healthprobe.from_image_env(image_env)
    return from_image or healthprobe.HealthProbe(healthprobe.UNMARKED_PATH,
                                                 origin="the default")


test_image.__test__ = False  # type: ignore[attr-defined]  # a library function, not a test


def _with_throwaway_env(run: RunSettings, inspect: dict[str, Any], notes: list[str]
                        ) -> RunSettings:
    """Throwaway values for what the image's label says the app cannot start without
    (shipyard.appenv), unless [tool.shipyard.test.env] gives a value: the test is about
    the image, and a random SECRET_KEY proves as much as the real one would."""
    missing = _missing_env(run, inspect)
    if not missing:
        return run
    data_dir = run.volumes[0] if run.volumes else None
    supplied = {name: appenv.test_value(name, kind, data_dir) for name, kind in missing}
    notes.append(f"throwaway values for {', '.join(supplied)} (the image's {appenv.LABEL}"
                 " label); set [tool.shipyard.test.env] to test with your own")
    return replace(run, env={**supplied, **run.env})


def _head(project: Path) -> tuple[str | None, str]:
    """(HEAD sha, the checkout's path) when project is inside a git checkout with commits."""
    repo = GitRepo(project)
    if not repo.is_repo():
        return None, ""
    try:
        return repo.head_sha(), str(project)
    except NoCommits:
        return None, ""
