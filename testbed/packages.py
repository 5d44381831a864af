"""Debian packages the tests need, installed in one apt run when any is missing."""

from __future__ import annotations

import os
import shutil

from testbed.shell import TestbedError, run, say

# package -> why the test bed needs it
PACKAGES: dict[str, str] = {
    "docker.io": "the Docker engine (dockerd) and a client that can drive BuildKit",
    "docker-registry": "a real OCI registry for publish/deploy tests",
    "openssh-server": "a real sshd for deploy and git-over-ssh tests",
    "openssh-client": "ssh, ssh-keygen, ssh-keyscan",
    "apache2-utils": "htpasswd for the registry's basic auth",
    "debootstrap": "stand-in base images when official ones cannot be pulled",
    "git": "git repositories for tests and private dependencies",
    "gettext": "msgfmt for the Django example's translations in host tests",
    "iproute2": "ss/ip for diagnostics",
    "buildah": "the daemonless, unprivileged builder (`shipyard build --builder buildah`)",
    "rsync": "gitlab-ci-local copies the project into each job's directory with it",
}


def missing() -> list[str]:
    result = []
    for pkg in PACKAGES:
        proc = run(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
        if "install ok installed" not in proc.stdout:
            result.append(pkg)
    return result


def ensure() -> None:
    """Install whatever is missing, or explain why we cannot."""
    if not shutil.which("dpkg-query"):
        say("not a Debian system: install the equivalents of " + ", ".join(PACKAGES))
        return
    todo = missing()
    if not todo:
        say("Debian packages: all present")
        return
    if os.geteuid() != 0:
        raise TestbedError(f"missing Debian packages {' '.join(todo)}: run as root or install them")
    say(f"installing Debian packages: {' '.join(todo)}")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    # Package lists on a fresh machine may be stale: refresh them first, once.
    run(["apt-get", "update", "-qq"], env=env, timeout=600)
    # With recommends, as the set was verified on a fresh machine (docker.io recommends
    # the tools its engine expects, e.g. xz-utils for image imports).
    run(["apt-get", "install", "-y", "-qq", *todo],
        env=env, timeout=1200)
