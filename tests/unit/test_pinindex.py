"""Pinned requirements and what the package index says about them: the Python a pinned
release requires and whether a wheel fits, so a requirements.txt project is read as
exactly as a lock file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from shipyard.detect import detect
from shipyard.detect.pinindex import IndexFacts, PinFacts, lookup, pinned

REQUIREMENTS = """\
# pinned by pip-compile
Django[argon2]==6.1 \\
    --hash=sha256:aaaa
ujson==5.4.0  # a 2022 release
gunicorn==23.0.0
requests>=2.31
pywin32==306; sys_platform == "win32"
-r other.txt
"""


def test_pinned_reads_exact_pins_only(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    assert pinned(tmp_path, ["requirements.txt"]) == [
        ("django", "6.1"), ("gunicorn", "23.0.0"), ("ujson", "5.4.0")]


def document(name: str, files: list[tuple[str, str | None]]) -> dict[str, object]:
    return {"name": name, "files": [{"filename": f, "requires-python": rp} for f, rp in files]}


INDEX = {
    "django": document("django", [("django-6.0-py3-none-any.whl", ">=3.10"),
                                  ("django-6.1-py3-none-any.whl", ">=3.12"),
                                  ("django-6.1.tar.gz", ">=3.12")]),
    "ujson": document("ujson", [("ujson-5.4.0-cp310-cp310-manylinux_2_17_x86_64.whl", ">=3.7"),
                                ("ujson-5.4.0-cp310-cp310-manylinux_2_17_aarch64.whl", ">=3.7"),
                                ("ujson-5.4.0.tar.gz", ">=3.7")]),
    "gunicorn": document("gunicorn", [("gunicorn-23.0.0-py3-none-any.whl", ">=3.7")]),
}


def test_lookup_keeps_the_pinned_release_and_never_raises() -> None:
    def fetch(name: str) -> dict[str, object] | None:
        if name == "broken":
            raise OSError("connection reset")
        return INDEX.get(name)

    facts = lookup([("django", "6.1"), ("ujson", "5.4.0"), ("broken", "1"), ("absent", "2")],
                   fetch)
    assert facts.pins["django"].requires_python == ">=3.12"
    assert facts.pins["django"].filenames == ("django-6.1-py3-none-any.whl", "django-6.1.tar.gz")
    assert sorted(facts.unknown) == ["absent", "broken"]


def test_lookup_is_bounded_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shipyard.detect.pinindex.DEADLINE", 0.2)

    def slow(name: str) -> dict[str, object] | None:
        time.sleep(2)
        return None

    started = time.monotonic()
    facts = lookup([("a", "1"), ("b", "2")], slow)
    assert time.monotonic() - started < 1.5
    assert sorted(facts.unknown) == ["a", "b"]


def fake_index(pins: list[tuple[str, str]]) -> IndexFacts:
    return lookup(pins, INDEX.get)


def project(tmp_path: Path, requirements: str) -> Path:
    (tmp_path / "requirements.txt").write_text(requirements)
    (tmp_path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    return tmp_path


def test_a_pins_python_requirement_bounds_the_version(tmp_path: Path) -> None:
    root = project(tmp_path, "flask==3.1.0\nDjango==6.1\n")
    offline = detect(root)
    assert offline.python_version == "3.11"
    online = detect(root, index=fake_index)
    assert online.python_version == "3.12"
    assert "django==6.1 (its release on the package index)" in online.python_source


def test_a_range_prefers_a_base_image_at_hand(tmp_path: Path) -> None:
    root = project(tmp_path, "flask==3.1.0\nDjango==6.1\n")
    chosen = detect(root, index=fake_index, base_available=lambda v: v in ("3.11", "3.13"))
    assert chosen.python_version == "3.13"
    assert "3.12's is not" in chosen.python_source
    nothing_known = detect(root, index=fake_index, base_available=lambda v: None)
    assert nothing_known.python_version == "3.12"


def test_a_pinned_release_without_a_fitting_wheel_gets_a_compiler(tmp_path: Path) -> None:
    root = project(tmp_path, "flask==3.1.0\nujson==5.4.0\ngunicorn==23.0.0\n")
    assert not detect(root).needs_compiler  # no table entry for ujson: unknown offline
    online = detect(root, index=fake_index)
    assert online.needs_compiler
    assert "ujson 5.4.0 builds from source" in online.compiled
    assert any("no wheel of that release for CPython 3.11" in w for w in online.warnings)


def test_pin_facts_with_wheels_need_nothing(tmp_path: Path) -> None:
    facts = IndexFacts({"gunicorn": PinFacts("gunicorn", "23.0.0", ">=3.7",
                                            ("gunicorn-23.0.0-py3-none-any.whl",))})
    root = project(tmp_path, "flask==3.1.0\ngunicorn==23.0.0\n")
    assert not detect(root, index=lambda pins: facts).needs_compiler
