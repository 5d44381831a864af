"""`shipyard build` and `shipyard publish`: parse options, call the core, render."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from shipyard.errors import ShipyardError
from shipyard.tools.buildlog import ShortProgress

console = Console()
err = Console(stderr=True)


def _progress(verbose: bool) -> Callable[[str], None]:
    """BuildKit's plain log: every line with -v, else each step once, CACHED ones and
    errors (a failure's own output is quoted by the error message)."""
    short = ShortProgress()

    def show(line: str) -> None:
        shown = line if verbose else short.feed(line)
        if shown is not None:
            err.print(shown, style="dim", highlight=False, markup=False)
    return show


@click.command("build")
@click.argument("project_dir", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--ssh", "ssh", multiple=True,
              help="Forward an ssh agent or key to the build (default=PATH or default).")
@click.option("--network", help="Network for RUN steps (e.g. host to reach a local git server).")
@click.option("--no-cache", is_flag=True, help="Build every step again.")
@click.option("--pull", is_flag=True, help="Pull the base image again first (a fresh base under"
              " the same tag; with --no-cache the OS layer is rebuilt too).")
@click.option("--ca-bundle", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="CA bundle for a TLS-intercepting proxy (default: from SHIPYARD_CA_BUNDLE,"
                   " PIP_CERT, REQUESTS_CA_BUNDLE, SSL_CERT_FILE). Passed as a BuildKit secret.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the build report (default: DIR/shipyard-build.json).")
@click.option("--verify-repro", is_flag=True,
              help="Build a second time without cache and compare every file.")
@click.option("--builder", type=click.Choice(["docker", "buildah"]),
              help="docker (BuildKit through the engine) or buildah (daemonless, unprivileged;"
                   " one digest per commit). Default: `builder` in the config, else docker.")
@click.option("--archive", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the image as a `docker load` archive (for later CI jobs); with"
                   " --builder buildah the image goes only there and no engine is needed.")
@click.option("-v", "--verbose", is_flag=True, help="Show the whole BuildKit log.")
def build_command(project_dir: Path, ssh: tuple[str, ...], network: str | None, no_cache: bool,
                  pull: bool, ca_bundle: Path | None, report_path: Path | None, verify_repro: bool,
                  builder: str | None, archive: Path | None, verbose: bool) -> None:
    """Build the image with tags and labels computed from git and CI (never by hand)."""
    from shipyard.imagebuild.run import build
    from shipyard.imagebuild.run import verify_repro as check_repro

    show = _progress(verbose)
    report = build(project_dir, ssh=ssh, network=network, no_cache=no_cache,
                   ca_bundle=ca_bundle, report_path=report_path,
                   on_output=show, builder=builder, pull=pull, archive=archive)
    table = Table(show_header=False, box=None)
    table.add_row("image", report.image_id)
    table.add_row("unique tag", f"{report.repository}:{report.unique_tag}")
    for ref in report.refs[1:]:
        table.add_row("also", ref)
    table.add_row("base", f"{report.base['name']} @ {report.base['digest']}")
    table.add_row("packages", f"{report.packages} recorded in {report.sbom}")
    table.add_row("took", f"{report.durations['total_s']:.1f}s with {report.builder}")
    if archive is not None:
        table.add_row("archive", str(archive))
    if report.local:
        table.add_row("[yellow]local build[/]", "labelled as such; publish refuses it"
                      " without --allow-local")
    console.print(table)
    if verify_repro:
        result = check_repro(project_dir, report, ssh=ssh, network=network,
                             ca_bundle=ca_bundle, on_output=show)
        if not result.ok:
            for line in result.differences[:50]:
                err.print(f"  {line}", highlight=False, markup=False)
            raise ShipyardError(f"not reproducible: {len(result.differences)} path(s) differ"
                                " between two builds of this commit",
                                hint="pin what changes (versions, timestamps) or see the list")
        if result.same_digest:
            console.print(f"[green]reproducible[/]: a second build without cache is the same"
                          f" image ({result.first})")
        else:
            console.print("[green]reproducible[/]: a second build without cache has the same"
                          " files (modification times and /etc/shadow dates ignored); the"
                          " same digest needs `--builder buildah`, whose --timestamp fixes"
                          " every time in the image")


@click.command("publish")
@click.argument("project_dir", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The build report to publish (default: DIR/shipyard-build.json).")
@click.option("--allow-local", is_flag=True, help="Also push a local (development) build.")
@click.option("--archive", type=click.Path(dir_okay=False, path_type=Path),
              help="Push the image from this archive (`shipyard build --archive`) with Buildah:"
                   " no engine needed.")
def publish_command(project_dir: Path, report_path: Path | None, allow_local: bool,
                    archive: Path | None) -> None:
    """Push every tag of the last build, the unique one first, and print the digest."""
    from shipyard.publish.publish import publish

    result = publish(project_dir, report_path=report_path, allow_local=allow_local,
                     env=os.environ, archive=archive)
    for ref in result.pushed:
        console.print(f"pushed {ref}", highlight=False)
    console.print(f"digest {result.registry}/{result.repository}@{result.digest}",
                  highlight=False)
