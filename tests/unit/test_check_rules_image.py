"""Image rules on `docker image inspect` data: the inspect dict and the image's files are
faked here (a table per rule); tests/integration/test_check_image.py runs them on real
images."""

from __future__ import annotations

from typing import Any

import pytest

from shipyard.checks.model import RULES
from shipyard.checks.rules_image import ImageFacts, check_image

HEAD = "0123456789abcdef0123456789abcdef01234567"
GOOD_LABELS = {"org.opencontainers.image.revision": HEAD,
               "org.opencontainers.image.source": "https://git.example.com/acme/app",
               "org.opencontainers.image.created": "2024-05-01T10:00:00Z"}
GOOD_FILES = {"/usr/local/bin/python", "/usr/local/lib/shipyard/healthcheck.py", "/bin/sh",
              "/usr/bin/curl"}
PATH = "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin"


def facts(*, user: str = "10001:10001", test: list[str] | None = None,
          labels: dict[str, str] | None = None, env: list[str] | None = None,
          files: set[str] | None = None, history: list[str] | None = None,
          head: str | None = HEAD, entrypoint: list[str] | None = None,
          ports: list[str] | None = None) -> ImageFacts:
    config: dict[str, Any] = {
        "User": user,
        "Healthcheck": {"Test": test if test is not None else
                        ["CMD", "python", "/usr/local/lib/shipyard/healthcheck.py"]},
        "Labels": labels if labels is not None else GOOD_LABELS,
        "Env": env if env is not None else [f"PATH={PATH}", "PORT=8000"],
        "Entrypoint": entrypoint if entrypoint is not None else ["docker-entrypoint"],
        "ExposedPorts": {p: {} for p in (ports if ports is not None else ["8000/tcp"])},
    }
    present = files if files is not None else GOOD_FILES
    return ImageFacts("app:test", {"Config": config}, history or [], present.__contains__, head,
                      8000, tuple(GOOD_LABELS))


# (case id, rule, facts, fires?)
CASES: list[tuple[str, str, ImageFacts, bool]] = [
    ("im001-no-user", "IM001", facts(user=""), True),
    ("im001-root", "IM001", facts(user="root"), True),
    ("im001-uid-0", "IM001", facts(user="0:0"), True),
    ("im001-non-root", "IM001", facts(), False),
    ("im002-none", "IM002", facts(test=["NONE"]), True),
    ("im002-missing", "IM002", facts(test=[]), True),
    ("im002-present", "IM002", facts(), False),
    ("im003-missing", "IM003", facts(labels={}), True),
    ("im003-empty-value", "IM003", facts(labels={**GOOD_LABELS,
                                                 "org.opencontainers.image.created": ""}), True),
    ("im003-present", "IM003", facts(), False),
    ("im004-other-commit", "IM004",
     facts(labels={**GOOD_LABELS, "org.opencontainers.image.revision": "f" * 40}), True),
    ("im004-head", "IM004", facts(), False),
    ("im004-short-sha", "IM004",
     facts(labels={**GOOD_LABELS, "org.opencontainers.image.revision": HEAD[:7]}), False),
    ("im004-not-a-checkout", "IM004", facts(head=None,
                                            labels={**GOOD_LABELS,
                                                    "org.opencontainers.image.revision": "x"}),
     False),
    ("im005-curl-missing", "IM005",
     facts(test=["CMD", "curl", "-f", "http://localhost/"], files={"/bin/sh"}), True),
    ("im005-script-missing", "IM005",
     facts(files={"/usr/local/bin/python"}), True),
    ("im005-shell-needs-sh", "IM005",
     facts(test=["CMD-SHELL", "curl -f http://localhost/ || exit 1"], files={"/usr/bin/curl"}),
     True),
    ("im005-present", "IM005", facts(), False),
    ("im005-shell-present", "IM005",
     facts(test=["CMD-SHELL", "curl -f http://localhost/ || exit 1"]), False),
    ("im006-env-secret", "IM006",
     facts(env=[f"PATH={PATH}", "DJANGO_SECRET_KEY=5up3r-s3cr3t-v4lue-nobody-knows"]), True),
    ("im006-label-token", "IM006",
     facts(labels={**GOOD_LABELS, "ci.token": "glpat-abcdefghijklmnopqrst"}), True),
    ("im006-history-build-arg", "IM006",
     facts(history=["|1 NPM_TOKEN=abcd /bin/sh -c npm ci", "/bin/sh -c #(nop) CMD"]), True),
    ("im006-clean", "IM006",
     facts(env=[f"PATH={PATH}", "SECRET_KEY_FILE=/run/secrets/k", "API_TOKEN="],
           history=["|1 PYTHON_VERSION=3.12 /bin/sh -c pip install"]), False),
    ("im007-gcc", "IM007", facts(files={*GOOD_FILES, "/usr/bin/gcc", "/usr/bin/make"}), True),
    ("im007-clean", "IM007", facts(), False),
    ("im008-shell-form", "IM008", facts(entrypoint=["/bin/sh", "-c", "gunicorn app:app"]), True),
    ("im008-exec-form", "IM008", facts(entrypoint=["gunicorn", "app:app"]), False),
    ("im009-other-port", "IM009", facts(ports=["5000/tcp"]), True),
    ("im009-no-port", "IM009", facts(ports=[]), True),
    ("im009-port", "IM009", facts(), False),
]


@pytest.mark.parametrize(("rule", "image", "fires"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_rule(rule: str, image: ImageFacts, fires: bool) -> None:
    found = [f for f in check_image(image, "Dockerfile") if f.rule_id == rule]
    assert bool(found) == fires, [f.message for f in check_image(image, "Dockerfile")]
    assert all(f.file == "Dockerfile" and f.severity == RULES[rule].severity for f in found)


def test_a_good_image_has_no_findings() -> None:
    assert check_image(facts(), "Dockerfile") == []


def test_which_searches_the_image_path() -> None:
    image = facts(files={"/opt/venv/bin/gunicorn"})
    assert image.which("gunicorn")
    assert not image.which("uvicorn")
    assert image.which("/opt/venv/bin/gunicorn")


def test_every_image_rule_has_a_failing_and_a_passing_case() -> None:
    rules = {r for r in RULES if r.startswith("IM")}
    assert rules <= {c[1] for c in CASES if c[3]}
    assert rules <= {c[1] for c in CASES if not c[3]}
