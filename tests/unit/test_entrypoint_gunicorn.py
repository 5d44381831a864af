"""gunicorn >= 25 opens a control socket under $XDG_RUNTIME_DIR, else under $HOME — /app,
read-only in the container. `shipyard test` then reports a refused write. The generated
entrypoint points it at the tmpfs before `exec gunicorn`, which older versions ignore."""

from __future__ import annotations

import subprocess
from pathlib import Path

from shipyard.detect import detect
from shipyard.generate.render import render


def test_entrypoint_puts_gunicorns_runtime_dir_on_the_tmpfs(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask==3.1.0\ngunicorn==25.1.0\n")
    (tmp_path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    files = {f.path: f.content for f in render(detect(tmp_path))}
    script = files["docker/entrypoint.sh"]
    assert script.index('export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"') < script.index(
        "exec gunicorn")
    probe = script.replace("exec gunicorn", 'echo "$XDG_RUNTIME_DIR"; exit 0; gunicorn')
    (tmp_path / "ep.sh").write_text(probe)
    ran = subprocess.run(["sh", str(tmp_path / "ep.sh")], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "RUN_MIGRATIONS": "0"}, check=True)
    assert ran.stdout.strip().splitlines()[-1] == "/tmp"
