"""The stand-in base images, also in Buildah's storage (for `shipyard build --builder buildah`).

Buildah keeps its own image store and, like the engine here, cannot pull: each stand-in the
engine has is copied in once (`buildah pull docker-daemon:`), skipped when Buildah already
holds that image id, so a run pays for it only after the stand-in itself changed.
"""

from __future__ import annotations

import shutil

from testbed import baseimages, jsimages
from testbed.engine import Client
from testbed.shell import run, say


def ensure(client: Client) -> None:
    if shutil.which("buildah") is None:
        say("buildah: not installed, skipped")
        return
    # the build bases: Python, and Node/bun for a JavaScript stage (never the runtime ones)
    names = [standin.name for standin in (*baseimages.STANDINS, *jsimages.STANDINS)]
    for name in names:
        wanted = run([client.binary, "image", "inspect", "--format", "{{.Id}}", name],
                     check=False).stdout.strip()
        if not wanted:
            continue
        full = name if "/" in name.split(":", 1)[0] else f"library/{name}"
        have = run(["buildah", "inspect", "--type", "image", "--format", "{{.FromImageID}}",
                    f"docker.io/{full}"], check=False).stdout.strip()
        if have and wanted.endswith(have):
            continue
        say(f"buildah: copying {name} from the engine")
        run(["buildah", "pull", "--quiet", f"docker-daemon:{name}"], timeout=600)
