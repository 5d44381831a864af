"""Finding the app's health route statically: one small from-scratch project per shape.

Each case is a dict of files; the expectation is the full path and file:line, or None
when no path can be trusted (then the image falls back to probing /).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.tree import write_tree as make
from shipyard.detect import detect
from shipyard.detect.django_urls import regex_to_path
from shipyard.detect.health import best_route, choose_probe, find_health_route, health_rank
from shipyard.detect.pysource import SourceIndex
from shipyard.detect.routes import Route
from shipyard.healthprobe import HealthProbe

FASTAPI = "from fastapi import FastAPI\n\napp = FastAPI()\n"
FLASK = "from flask import Flask\n\napp = Flask(__name__)\n"


def found(root: Path, files: dict[str, str], django: bool = False) -> tuple[str, str] | None:
    route = find_health_route(SourceIndex(make(root, files)), django=django)
    return (route.path, route.where) if route else None


# -- FastAPI / Starlette ------------------------------------------------------------------------

ASGI_CASES: list[tuple[str, dict[str, str], tuple[str, str] | None]] = [
    ("fastapi-app-decorator",
     {"main.py": FASTAPI + '\n@app.get("/healthz")\ndef healthz():\n    return {}\n'},
     ("/healthz", "main.py:5")),
    ("router-prefix-and-include-prefix", {
        "app/__init__.py": "",
        "app/api/__init__.py": "",
        "app/api/routes/__init__.py": "",
        "app/api/routes/utils.py": ('from fastapi import APIRouter\n\n'
                                    'router = APIRouter(prefix="/utils")\n\n\n'
                                    '@router.get("/health-check/")\nasync def check():\n'
                                    '    return True\n'),
        "app/api/main.py": ('from fastapi import APIRouter\n\nfrom app.api.routes import utils\n\n'
                            'api_router = APIRouter()\napi_router.include_router(utils.router)\n'),
        "app/main.py": ('from fastapi import FastAPI\n\nfrom app.api.main import api_router\n\n'
                        'app = FastAPI()\napp.include_router(api_router, prefix="/api/v1")\n'),
    }, ("/api/v1/utils/health-check/", "app/api/routes/utils.py:6")),
    ("include-prefix-from-a-settings-class-default", {
        "svc/__init__.py": "",
        "svc/config.py": ('class Settings:\n    API_PREFIX: str = "/api"\n\n\n'
                          'settings = Settings()\n'),
        "svc/health.py": ('from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n'
                          '@router.get("/health")\ndef health():\n    return {}\n'),
        "svc/main.py": ('from fastapi import FastAPI\n\nfrom .config import settings\n'
                        'from .health import router as health_router\n\napp = FastAPI()\n'
                        'app.include_router(health_router, prefix=settings.API_PREFIX)\n'),
    }, ("/api/health", "svc/health.py:6")),
    ("prefix-from-module-constant-and-fstring", {
        "main.py": ('from fastapi import APIRouter, FastAPI\n\nVERSION = "v2"\n'
                    'ops = APIRouter(prefix=f"/api/{VERSION}")\n\n\n@ops.get("/-/health")\n'
                    'def health():\n    return {}\n\n\napp = FastAPI()\napp.include_router(ops)\n'),
    }, ("/api/v2/-/health", "main.py:7")),
    ("router-never-included-is-not-served", {
        "main.py": FASTAPI,
        "ops.py": ('from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n'
                   '@router.get("/health")\ndef health():\n    return {}\n'),
    }, None),
    ("unreadable-prefix-is-not-guessed", {
        "main.py": ('from fastapi import APIRouter, FastAPI\n\nimport conf\n\n'
                    'ops = APIRouter()\n\n\n'
                    '@ops.get("/health")\ndef health():\n    return {}\n\n\napp = FastAPI()\n'
                    'app.include_router(ops, prefix=conf.compute_prefix())\n'),
    }, None),
    ("post-only-and-path-parameters-are-ignored", {
        "main.py": FASTAPI + ('\n@app.post("/health")\ndef a():\n    return {}\n\n\n'
                              '@app.api_route("/healthz", methods=["POST", "PUT"])\ndef b():\n'
                              '    return {}\n\n\n@app.get("/health/{component}")\n'
                              'def c(component):\n'
                              '    return {}\n'),
    }, None),
    ("api-route-with-get-and-head", {
        "main.py": FASTAPI + ('\n@app.api_route("/ping", methods=["GET", "HEAD"])\ndef ping():\n'
                              '    return "pong"\n'),
    }, ("/ping", "main.py:5")),
    ("routes-behind-authentication-are-skipped", {
        "main.py": ('from fastapi import APIRouter, Depends, FastAPI\n\n'
                    'from deps import CurrentUser, verify_token\n\n'
                    'private = APIRouter(dependencies=[Depends(verify_token)])\n'
                    'app = FastAPI()\n\n\n'
                    '@private.get("/health")\ndef a():\n    return {}\n\n\n'
                    '@app.get("/healthz", dependencies=[Depends(verify_token)])\ndef b():\n'
                    '    return {}\n\n\n'
                    '@app.get("/livez")\ndef c(user: CurrentUser):\n    return {}\n\n\n'
                    '@app.get("/readyz")\ndef d(key=Depends(get_api_key)):\n    return {}\n\n\n'
                    '@app.get("/ping")\ndef e(db=Depends(get_db)):\n    return {}\n\n\n'
                    'app.include_router(private)\n'),
    }, ("/ping", "main.py:29")),
    ("app-behind-authentication", {
        "main.py": ('from fastapi import Depends, FastAPI\n\n'
                    'app = FastAPI(dependencies=[Depends(require_token)])\n\n\n'
                    '@app.get("/health")\ndef health():\n    return {}\n'),
    }, None),
    ("starlette-add-route", {
        "main.py": ('from starlette.applications import Starlette\n\napp = Starlette()\n\n\n'
                    'async def up(request):\n    ...\n\n\n'
                    'app.add_route("/up", up, methods=["GET"])\n'),
    }, ("/up", "main.py:10")),
    ("starlette-route-list-with-mount", {
        "main.py": ('from starlette.applications import Starlette\n'
                    'from starlette.routing import Mount, Route\n\n'
                    'routes = [\n    Route("/", home),\n'
                    '    Mount("/-", routes=[Route("/healthz", healthz)]),\n]\n'
                    'app = Starlette(routes=routes)\n'),
    }, ("/-/healthz", "main.py:6")),
    ("sub-app-mounted-under-a-path", {
        "main.py": ('from fastapi import FastAPI\n\nfrom ops import ops_app\n\napp = FastAPI()\n'
                    'app.mount("/internal", ops_app)\n'),
        "ops.py": ('from fastapi import FastAPI\n\nops_app = FastAPI()\n\n\n'
                   '@ops_app.get("/livez")\ndef livez():\n    return {}\n'),
    }, ("/internal/livez", "ops.py:6")),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in ASGI_CASES],
                         ids=[c[0] for c in ASGI_CASES])
def test_asgi_routes(tmp_path: Path, files: dict[str, str],
                     expected: tuple[str, str] | None) -> None:
    assert found(tmp_path, files) == expected


# -- Flask ----------------------------------------------------------------------------------------

BLUEPRINT = ('from flask import Blueprint\n\nbp = Blueprint("ops", __name__{prefix})\n\n\n'
             '@bp.get("/health")\ndef health():\n    return {{"status": "ok"}}\n')
FACTORY = ('from flask import Flask\n\n\ndef create_app():\n    app = Flask(__name__)\n'
           '    from shop.ops import bp\n    app.register_blueprint(bp{prefix})\n    return app\n')

FLASK_CASES: list[tuple[str, dict[str, str], tuple[str, str] | None]] = [
    ("app-route", {"app.py": FLASK + '\n@app.route("/ping")\ndef ping():\n    return "pong"\n'},
     ("/ping", "app.py:5")),
    ("route-without-get-is-ignored", {
        "app.py": FLASK + '\n@app.route("/health", methods=["POST"])\ndef h():\n    return ""\n'},
     None),
    ("add-url-rule", {"app.py": FLASK + '\n\ndef up():\n    return ""\n\n\n'
                                        'app.add_url_rule("/up", view_func=up)\n'},
     ("/up", "app.py:10")),
    ("blueprint-url-prefix-on-the-blueprint", {
        "shop/__init__.py": FACTORY.format(prefix=""),
        "shop/ops.py": BLUEPRINT.format(prefix=', url_prefix="/ops"'),
    }, ("/ops/health", "shop/ops.py:6")),
    ("register-blueprint-url-prefix-replaces-the-blueprints", {
        "shop/__init__.py": FACTORY.format(prefix=', url_prefix="/api"'),
        "shop/ops.py": BLUEPRINT.format(prefix=', url_prefix="/ignored"'),
    }, ("/api/health", "shop/ops.py:6")),
    ("blueprint-in-package-routes-in-submodule", {
        "shop/__init__.py": ('from flask import Flask\n\n\ndef create_app():\n'
                             '    app = Flask(__name__)\n'
                             '    from shop.main import bp as main_bp\n'
                             '    app.register_blueprint(main_bp, url_prefix="/-")\n'
                             '    return app\n'),
        "shop/main/__init__.py": ('from flask import Blueprint\n\n'
                                  'bp = Blueprint("main", __name__)\n'
                                  '\nfrom shop.main import routes  # noqa\n'),
        "shop/main/routes.py": ('from shop.main import bp\n\n\n@bp.route("/healthz")\n'
                                'def healthz():\n    return "ok"\n'),
    }, ("/-/healthz", "shop/main/routes.py:4")),
    ("flask-restful-api-on-a-blueprint", {
        "shop/__init__.py": FACTORY.format(prefix=', url_prefix="/api"'),
        "shop/ops.py": ('from flask import Blueprint\nfrom flask_restful import Api, Resource\n\n'
                        'bp = Blueprint("ops", __name__)\napi = Api(bp, prefix="/v1")\n\n\n'
                        'class Health(Resource):\n    def get(self):\n        return {}\n\n\n'
                        'class Login(Resource):\n    def post(self):\n        return {}\n\n\n'
                        'api.add_resource(Login, "/ping")\napi.add_resource(Health, "/health")\n'),
    }, ("/api/v1/health", "shop/ops.py:19")),
    ("flask-restx-namespace-default-path", {
        "app.py": ('from flask import Flask\nfrom flask_restx import Api, Namespace, Resource\n\n'
                   'app = Flask(__name__)\napi = Api(app)\nns = Namespace("ops")\n'
                   'api.add_namespace(ns)\n\n\n@ns.route("/healthz")\nclass Healthz(Resource):\n'
                   '    def get(self):\n        return {}\n'),
    }, ("/ops/healthz", "app.py:10")),
    ("route-behind-a-login-is-skipped", {
        "app.py": FLASK + ('from flask_login import login_required\n\n\n@app.get("/health")\n'
                           '@login_required\ndef health():\n    return ""\n\n\n'
                           '@app.get("/ping")\ndef ping():\n    return ""\n'),
    }, ("/ping", "app.py:13")),
    ("blueprint-never-registered-is-not-served", {
        "shop/__init__.py": FLASK,
        "shop/ops.py": BLUEPRINT.format(prefix=""),
    }, None),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in FLASK_CASES],
                         ids=[c[0] for c in FLASK_CASES])
def test_flask_routes(tmp_path: Path, files: dict[str, str],
                      expected: tuple[str, str] | None) -> None:
    assert found(tmp_path, files) == expected


# -- Django ---------------------------------------------------------------------------------------

SETTINGS = 'ROOT_URLCONF = "site_cfg.urls"\n'
URLS_HEAD = "from django.urls import include, path, re_path\n\nfrom . import views\n\n"


def django(urls: str, **extra: str) -> dict[str, str]:
    return {"site_cfg/__init__.py": "", "site_cfg/settings.py": SETTINGS,
            "site_cfg/urls.py": URLS_HEAD + urls, **extra}


DJANGO_CASES: list[tuple[str, dict[str, str], tuple[str, str] | None]] = [
    ("path", django('urlpatterns = [\n    path("", views.home),\n'
                    '    path("healthz", views.healthz),\n]\n'),
     ("/healthz", "site_cfg/urls.py:7")),
    ("include-module-name-and-re-path", django(
        'urlpatterns = [path("api/", include("core.api_urls"))]\n',
        **{"core/__init__.py": "",
           "core/api_urls.py": ('from django.urls import re_path\n\nfrom . import views\n\n'
                                'urlpatterns = [\n'
                                '    re_path(r"^health/?$", views.health),\n]\n')}),
     ("/api/health", "core/api_urls.py:6")),
    ("re-path-prefix-and-imported-urls-module", django(
        'from ops import urls as ops_urls\n\n'
        'urlpatterns = [re_path(r"^-/", include(ops_urls))]\n',
        **{"ops/__init__.py": "",
           "ops/urls.py": 'from django.urls import path\n\nurlpatterns = [path("health/", h)]\n'}),
     ("/-/health/", "ops/urls.py:3")),
    ("local-list-included-twice", django(
        'api = [\n    path("checks/", views.checks),\n    path("status/", views.status),\n]\n\n'
        'urlpatterns = [\n    path("api/v1/", include(api)),\n'
        '    path("api/v2/", include(api)),\n]\n'),
     ("/api/v1/status/", "site_cfg/urls.py:7")),
    ("urlpatterns-rewrapped-in-a-namespace", django(
        'urlpatterns = [path("bookmarks", views.index)]\n'
        'urlpatterns.append(path("health", views.health))\n'
        'urlpatterns = [path("", include((urlpatterns, "app")))]\n'
        'urlpatterns += [path("login/", views.login)]\n'),
     ("/health", "site_cfg/urls.py:6")),
    ("debug-only-routes-and-regex-groups-are-ignored", django(
        'urlpatterns = [re_path(r"^health/(?P<part>\\w+)$", views.part)]\n\n'
        'if settings.DEBUG:\n    urlpatterns += [path("health", views.health)]\n'),
     None),
    ("include-cycle-terminates", django(
        'urlpatterns = [\n    path("again/", include("site_cfg.urls")),\n'
        '    path("health", views.health),\n]\n'),
     ("/health", "site_cfg/urls.py:7")),
    ("django-ninja-api-mounted-in-urls", django(
        'from .api import api\n\nurlpatterns = [path("api/", api.urls)]\n',
        **{"site_cfg/api.py": ('from ninja import NinjaAPI, Router\n\napi = NinjaAPI()\n'
                               'ops = Router()\napi.add_router("/ops", ops)\n\n\n'
                               '@ops.get("/health")\ndef health(request):\n    return {}\n'),
           "other.py": FASTAPI + '\n@app.get("/healthz")\ndef h():\n    return {}\n'}),
     ("/api/ops/health", "site_cfg/api.py:8")),
    ("django-views-behind-a-login-are-skipped", django(
        'from django.contrib.auth.decorators import login_required\n\n'
        'urlpatterns = [\n    path("health", login_required(views.health)),\n'
        '    path("healthz", views.Healthz.as_view()),\n    path("status", views.status),\n'
        '    path("up", views.up),\n]\n',
        **{"site_cfg/views.py": (
            'from django.contrib.auth.mixins import LoginRequiredMixin\n'
            'from django.contrib.auth.decorators import permission_required\n\n\n'
            'class Healthz(LoginRequiredMixin, View):\n    pass\n\n\n'
            '@permission_required("ops.view")\ndef status(request):\n    pass\n\n\n'
            'def up(request):\n    pass\n')}),
     ("/up", "site_cfg/urls.py:11")),
    ("django-health-check-package",
     django('urlpatterns = [path("ht/", include("health_check.urls"))]\n'),
     ("/ht/", "site_cfg/urls.py:5")),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in DJANGO_CASES],
                         ids=[c[0] for c in DJANGO_CASES])
def test_django_urls(tmp_path: Path, files: dict[str, str],
                     expected: tuple[str, str] | None) -> None:
    assert found(tmp_path, files, django=True) == expected


@pytest.mark.parametrize(("pattern", "leaf", "path"), [
    (r"^health/?$", True, "health"),
    (r"^api/v1/health\.json$", True, "api/v1/health.json"),
    (r"^$", True, ""),
    (r"^api/", False, "api/"),
    (r"health$", True, "health"),
    (r"^health", True, "health"),
    (r"health", True, None),
    (r"^health/(?P<x>\w+)$", True, None),
    (r"^(health|status)$", True, None),
    (r"^health/.*$", True, None),
])
def test_regex_to_path(pattern: str, leaf: bool, path: str | None) -> None:
    assert regex_to_path(pattern, leaf=leaf) == path


# -- naming and choice ----------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "rank"), [
    ("/health", (0, 0)), ("/healthz", (0, 0)), ("/health/", (0, 0)), ("/-/health", (0, 0)),
    ("/_health", (0, 0)), ("/api/v1/utils/health-check/", (0, 0)), ("/health/live", (0, 1)),
    ("/livez", (1, 0)), ("/readyz", (1, 0)), ("/up", (2, 0)), ("/ping", (2, 0)),
    ("/heartbeat", (2, 0)), ("/status", (3, 0)), ("/health.json", (0, 0)),
    ("/", None), ("/users", None), ("/status/orders", None), ("/healthy-food", None),
    ("/health/{part}", None), ("/health/<part>", None), ("/ping/<uuid:code>", None),
])
def test_health_rank(path: str, rank: tuple[int, int] | None) -> None:
    assert health_rank(path) == rank


@pytest.mark.parametrize(("paths", "chosen"), [
    (["/status", "/ping", "/health"], "/health"),
    (["/api/v1/health", "/health"], "/health"),
    (["/health/live", "/health/ready", "/healthz"], "/healthz"),
    (["/readyz", "/livez"], "/readyz"),
    (["/users", "/"], None),
], ids=["health-beats-status", "shorter-wins", "plain-beats-qualified", "first-of-equals",
        "none"])
def test_best_route(paths: list[str], chosen: str | None) -> None:
    best = best_route([Route(p, f"a.py:{i}") for i, p in enumerate(paths)])
    assert (best.path if best else None) == chosen


@pytest.mark.parametrize(("configured", "route", "expected"), [
    ("/ready", Route("/health", "a.py:3"),
     HealthProbe("/ready", False, "from [tool.shipyard] health_path", configured=True)),
    (None, Route("/health", "a.py:3"), HealthProbe("/health", False, "found at a.py:3")),
    (None, None, HealthProbe("/", True, "no health route found")),
], ids=["config-wins", "found", "fallback"])
def test_choose_probe(configured: str | None, route: Route | None, expected: HealthProbe) -> None:
    assert choose_probe(configured, route) == expected


def test_detect_puts_the_probe_on_the_project(tmp_path: Path) -> None:
    files = {"app.py": FLASK + '\n@app.get("/api/health")\ndef h():\n    return {}\n',
             "requirements.txt": "flask==3.0.3\ngunicorn==23.0.0\n"}
    project = detect(make(tmp_path / "a", files))
    assert project.health == HealthProbe("/api/health", False, "found at app.py:5")
    configured = detect(tmp_path / "a", health_path="/ready")
    assert (configured.health.path, configured.health.any_answer) == ("/ready", False)
    bare = detect(make(tmp_path / "b", {"app.py": FLASK}))
    assert (bare.health.path, bare.health.any_answer) == ("/", True)


def test_user_code_is_never_imported(tmp_path: Path) -> None:
    boom = tmp_path / "imported"
    files = {"main.py": (f"open({str(boom)!r}, 'w').write('ran')\n" + FASTAPI +
                         '\n@app.get("/health")\ndef h():\n    return {}\n')}
    assert found(tmp_path / "p", files) == ("/health", "main.py:6")
    assert not boom.exists()


def test_unparsable_files_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "latin.py").write_bytes(b"x = '\xe9'\n")  # not UTF-8
    files = {"broken.py": "def (:\n",
             "main.py": FASTAPI + '\n@app.get("/up")\ndef up():\n    return {}\n'}
    assert found(root, files) == ("/up", "main.py:5")


def test_only_the_served_apps_routes_count(tmp_path: Path) -> None:
    """A second app in the tree (an admin tool, another service) does not lend its
    health route to the app the image runs."""
    files = {"api.py": FASTAPI + '\n@app.get("/ping")\ndef ping():\n    return {}\n',
             "tools/admin.py": ('from fastapi import FastAPI\n\nadmin = FastAPI()\n\n\n'
                                '@admin.get("/health")\ndef health():\n    return {}\n'),
             "requirements.txt": "fastapi==0.115.0\nuvicorn==0.32.1\n"}
    project = detect(make(tmp_path / "p", files))
    assert project.app_target == "api:app"
    assert (project.health.path, project.health.origin) == ("/ping", "found at api.py:5")
    assert found(tmp_path / "p", {}) == ("/health", "tools/admin.py:6")  # app unknown: all
