"""The server command for projects init cannot serve with gunicorn/uvicorn: configured,
a Procfile `web:` line, a console script's own options — as tables of projects in and
entrypoint lines out; and the SIGTERM launcher, run for real on a fake console script."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.tree import write_tree
from shipyard.config import load_config
from shipyard.detect import detect
from shipyard.errors import ConfigError
from shipyard.generate.render import render
from shipyard.generate.start_steps import LAUNCHER, shell_word

PYPROJECT = ('[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
             '[project]\nname = "tiny"\nversion = "1"\n'
             '[project.scripts]\ntiny-server = "tiny.cli:main"\n')
ARGPARSE = '''\
import argparse

def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd")
    serve = sub.add_parser("serve")
    serve.add_argument("-p", "--port", type=int, default=8080)
    serve.add_argument("--host", default="127.0.0.1")
'''
NO_OPTIONS = "import sys\n\ndef main():\n    print(sys.argv)\n"
SCRIPT = {"pyproject.toml": PYPROJECT, "tiny/__init__.py": "", "tiny/cli.py": ARGPARSE}
LAUNCH = "exec python /usr/local/lib/shipyard/launch.py "
FLASK = {"requirements.txt": "flask==3.1.0\n",
         "app.py": "from flask import Flask\napp = Flask(__name__)\n"}

CASES: list[tuple[str, dict[str, str], str]] = [
    ("script-subcommand-port-host", SCRIPT,
     LAUNCH + "tiny-server serve --port \"${PORT:-8000}\" --host 0.0.0.0"),
    ("configured-command-wins", {**SCRIPT, "pyproject.toml": PYPROJECT + (
        '[tool.shipyard]\ncommand = ["tiny-server", "serve", "-p", "${PORT}", "--x", "a b"]\n')},
     LAUNCH + "tiny-server serve -p \"${PORT:-8000}\" --x 'a b'"),
    ("configured-gunicorn-is-execd-directly", {**FLASK, "pyproject.toml": (
        '[tool.shipyard]\ncommand = ["gunicorn", "-b", "0.0.0.0:${PORT}", "app:app"]\n')},
     "exec gunicorn -b 0.0.0.0:\"${PORT:-8000}\" app:app\n"),
    ("procfile-web-for-a-script", {**SCRIPT, "Procfile": "web: tiny-server serve -p $PORT\n"},
     LAUNCH + "tiny-server serve -p \"$PORT\""),
    ("procfile-web-with-shell-syntax", {**SCRIPT, "Procfile": "web: cd x && tiny-server\n"},
     "exec sh -c 'cd x && tiny-server'"),
    ("procfile-web-ignored-for-a-wsgi-app", {**FLASK, "Procfile": "web: uwsgi a.ini\n"},
     "exec gunicorn --bind"),
    ("procfile-web-for-no-app", {"job.py": "print(1)\n", "Procfile": "web: python -m job\n"},
     LAUNCH + "python -m job"),
]


def _entry_last_line(root: Path) -> str:
    project = detect(root, command=load_config(root).command or None)
    files = {f.path: f.content for f in render(project)}
    text = files["docker/entrypoint.sh"]
    return text[text.rindex("\nexec ") + 1:]


@pytest.mark.parametrize(("files", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_server_line(tmp_path: Path, files: dict[str, str], line: str) -> None:
    assert _entry_last_line(write_tree(tmp_path, files)).startswith(line)


def test_script_origin_names_the_options(tmp_path: Path) -> None:
    start = detect(write_tree(tmp_path, SCRIPT)).start
    assert start is not None
    assert start.argv == ("tiny-server", "serve", "--port", "${PORT}", "--host", "0.0.0.0")  # noqa: S104
    assert "--port option at tiny/cli.py:7" in start.origin


def test_script_without_port_option_warns_and_names_the_key(tmp_path: Path) -> None:
    project = detect(write_tree(tmp_path, {**SCRIPT, "tiny/cli.py": NO_OPTIONS}))
    warning = next(w for w in project.warnings if "tiny-server" in w)
    assert "port cannot be mapped" in warning and "command = [" in warning
    assert _entry_last_line(tmp_path) == LAUNCH + "tiny-server\n"


def test_launcher_ships_only_when_used(tmp_path: Path) -> None:
    script = {f.path: f.content for f in render(detect(write_tree(tmp_path / "s", SCRIPT)))}
    assert script["docker/launch.py"] == LAUNCHER
    assert "COPY --chmod=0644 docker/launch.py /usr/local/lib/shipyard/launch.py" in \
        script["Dockerfile"]
    flask = {f.path: f.content for f in render(detect(write_tree(tmp_path / "f", FLASK)))}
    assert "docker/launch.py" not in flask and "launch.py" not in flask["Dockerfile"]


def test_configured_command_drops_the_no_server_warning(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"job.py": "print(1)\n"})
    assert any("no Django manage.py" in w for w in detect(root).warnings)
    assert not any("no Django manage.py" in w
                   for w in detect(root, command=("python", "job.py")).warnings)


@pytest.mark.parametrize(("word", "shell"), [
    ("plain", "plain"), ("a b", "'a b'"), ("${PORT}", '"${PORT}"'), ("$PORT", '"$PORT"'),
    ("0.0.0.0:${PORT:-80}", "0.0.0.0:\"${PORT:-80}\""), ("it's", "'it'\"'\"'s'"),
    ("$(reboot)", "'$(reboot)'"), ("`x`", "'`x`'"), ("", "''"), ("$1", "'$1'"),
])
def test_shell_word_expands_only_variables(word: str, shell: str) -> None:
    assert shell_word(word) == shell
    out = subprocess.run(["sh", "-c", f"printf %s {shell}"], capture_output=True, text=True,
                         env={"PORT": "9"}, check=True).stdout
    assert out == word.replace("${PORT}", "9").replace("$PORT", "9").replace("${PORT:-80}", "9")


@pytest.mark.parametrize(("value", "message"), [
    ('"tiny-server"', "must be a list"),
    ("[]", "must name a program"),
    ('["tiny-server serve --port 8000"]', "one word per item"),
    ('["", "x"]', "must start with a program name"),
])
def test_command_key_is_strict(tmp_path: Path, value: str, message: str) -> None:
    write_tree(tmp_path, {"pyproject.toml": f"[tool.shipyard]\ncommand = {value}\n"})
    with pytest.raises(ConfigError, match=message) as info:
        load_config(tmp_path)
    assert "tool.shipyard.command" in str(info.value)


# -- the launcher, for real ----------------------------------------------------------------------

SERVER = '''\
import sys, time

def main():
    try:
        print("ready", flush=True)
        while True:
            time.sleep(0.05)
    finally:
        print("cleaned up", flush=True)
'''


def _fake_distribution(root: Path) -> Path:
    return write_tree(root, {
        "fakesrv.py": SERVER,
        "fakesrv-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: fakesrv\nVersion: 1.0\n",
        "fakesrv-1.0.dist-info/entry_points.txt": "[console_scripts]\nfake-server = fakesrv:main\n",
        "launch.py": LAUNCHER})


def _launch(root: Path, *argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.Popen([sys.executable, str(root / "launch.py"), *argv], env=env, cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_launcher_turns_sigterm_into_a_clean_exit(tmp_path: Path) -> None:
    process = _launch(_fake_distribution(tmp_path), "fake-server")
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"  # waits for the server, no sleep
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert (process.returncode, out) == (0, "cleaned up\n"), err
    assert "stopped on SIGTERM" in err


@pytest.mark.parametrize("argv", [("python", "-m", "fakesrv"), ("python", "fakesrv.py")],
                         ids=["python-m", "python-file"])
def test_launcher_runs_python_modules_and_files_in_process(tmp_path: Path,
                                                           argv: tuple[str, ...]) -> None:
    root = _fake_distribution(tmp_path)
    (root / "fakesrv.py").write_text(SERVER + "\nif __name__ == '__main__':\n    main()\n")
    process = _launch(root, *argv)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert (process.returncode, out) == (0, "cleaned up\n"), err


def test_launcher_execs_what_is_not_a_console_script(tmp_path: Path) -> None:
    process = _launch(_fake_distribution(tmp_path), "sh", "-c", "echo $0; exit 3")
    out, _ = process.communicate(timeout=10)
    assert (process.returncode, out) == (3, "sh\n")
