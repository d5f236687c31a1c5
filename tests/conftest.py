"""Shared fixtures: apps on SQLite (fast) and on real PostgreSQL, users of two
organisations, a logged-in client helper, and the Chromium options for dash_duo.

With CI=true a missing PostgreSQL or Chromium fails the run instead of skipping."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dashboard.accounts.provisioning import (
    add_compressor,
    get_or_create_org,
    get_or_create_site,
    upsert_user,
)
from dashboard.app import create_app
from dashboard.core.database import Base, session_scope
from dashboard.core.migrations import upgrade

IN_CI = os.environ.get("CI", "").lower() == "true"


def _per_worker(url: str) -> str:
    """Under pytest-xdist (``make test`` runs two processes) each worker has a database
    of its own beside the configured one: ``test_gw0``, ``test_gw1``; created when
    missing (``pg_url``)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = sa.engine.make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(
        hide_password=False)


TEST_DATABASE_URL = _per_worker(os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
))
PASSWORD = "correct-horse-battery"


def missing(reason: str) -> None:
    """Skip on a laptop; fail in CI, where every test must really run."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must not be skipped)", pytrace=False)
    pytest.skip(reason)


REDIS_URL = "redis://127.0.0.1:6379"


@pytest.fixture
def redis_conn():
    """A connection to the real Redis (skips on a laptop without one, fails in CI)."""
    import redis

    conn = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        conn.ping()
    except redis.RedisError as exc:
        missing(f"Redis not reachable at {REDIS_URL}: {exc.__class__.__name__}")
    yield conn
    conn.close()


# ---------------------------------------------------------------- browser (dash_duo)
# Extra Chromium flags of the test being set up, from its ``chromium_args`` marker.
_EXTRA_CHROMIUM_ARGS: list[str] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    # Runs before the fixtures (dash_duo calls pytest_setup_options while it is set up).
    _EXTRA_CHROMIUM_ARGS[:] = [arg for mark in item.iter_markers("chromium_args")
                               for arg in mark.args]
    yield


def pytest_setup_options():
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1366,900",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost",
                *_EXTRA_CHROMIUM_ARGS):
        options.add_argument(arg)
    return options


BROWSER_TEST_FILES = "tests/test_browser_"


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``make test`` runs two pytest processes (pytest-xdist): tests go out file by file,
    and every browser test to the same process, one after another, since their servers
    listen on fixed ports shared between files. (xdist's own ``--dist loadgroup`` does
    not group under pytest 9: it renames items through an attribute pytest 9 ignores.)"""
    from xdist.scheduler import LoadScopeScheduling

    class BrowserTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(BROWSER_TEST_FILES):
                return "browser"
            return nodeid.split("::", 1)[0]

    return BrowserTestsTogether(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    have_browser = Path("/usr/bin/chromium").exists() and shutil.which("chromedriver")
    reason = "Chromium/chromedriver not installed (apt-get install chromium chromium-driver)"
    for item in items:
        if "dash_duo" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
            if not item.nodeid.startswith(BROWSER_TEST_FILES):
                raise pytest.UsageError(f"{item.nodeid}: browser tests live in "
                                        f"{BROWSER_TEST_FILES}*.py (pytest_xdist_make_scheduler)")
            if not have_browser:
                if IN_CI:
                    pytest.exit(f"{reason}; CI=true: browser tests must run", returncode=3)
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its production cost takes ~100 ms a hash; tests hash dozens of times.
    The hash format carries its parameters, so verification is unchanged."""
    from argon2 import PasswordHasher

    import dashboard.accounts.auth as auth

    production = auth._hasher
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    auth._hasher = production


# ---------------------------------------------------------------- databases
@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    engine = sa.create_engine(TEST_DATABASE_URL)
    try:
        if os.environ.get("PYTEST_XDIST_WORKER"):
            create_database_if_missing(TEST_DATABASE_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:
        engine.dispose()
        missing(f"PostgreSQL not reachable at {TEST_DATABASE_URL}: {exc.__class__.__name__}")
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    upgrade(TEST_DATABASE_URL)
    yield TEST_DATABASE_URL


def create_database_if_missing(url: str) -> None:
    parsed = sa.engine.make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": parsed.database}).scalar():
                conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()


def _truncate_all(url: str) -> None:
    engine = sa.create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def _make_app(tmp_path: Path, database_url: str, **extra: Any):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "WTF_CSRF_ENABLED": False,
        "HEALTH_REFRESH_MS": 1000,
        # pages before login in English, as a browser asking for it would get them
        "DEFAULT_LANGUAGE": "en",
        # Tests (fuzzing above all) call far faster than devices and people do; the
        # call limits are tested with their own values in tests/test_rate_limits.py.
        "DEVICE_RATE_LIMIT": "1000000 per second",
        "ANALYZE_RATE_LIMIT": "1000000 per second",
        "EXPORT_RATE_LIMIT": "1000000 per second",
        "READ_API_RATE_LIMIT": "1000000 per second",
    }
    config.update(extra)
    return create_app(config)


_SQLITE_AT_HEAD: list[Path] = []


def migrated_sqlite(path: Path) -> str:
    """The URL of a new SQLite database at ``path``, at the migrations' head: a copy of
    one migrated once per test process (running the migrations takes ~0.3 s a time)."""
    if not _SQLITE_AT_HEAD:
        import atexit
        import tempfile

        folder = tempfile.mkdtemp(prefix="sc-sqlite-head-")
        atexit.register(shutil.rmtree, folder, True)
        template = Path(folder) / "head.db"
        upgrade(f"sqlite:///{template}")
        assert not template.with_name("head.db-wal").exists()
        _SQLITE_AT_HEAD.append(template)
    shutil.copyfile(_SQLITE_AT_HEAD[0], path)
    return f"sqlite:///{path}"


@pytest.fixture
def dash_app(tmp_path: Path):
    """The Dash app on an embedded SQLite database, migrated to head."""
    return _make_app(tmp_path, migrated_sqlite(tmp_path / "test.db"))


@pytest.fixture
def pg_dash_app(tmp_path: Path, pg_url: str):
    """The Dash app on real PostgreSQL, emptied before each test."""
    _truncate_all(pg_url)
    app = _make_app(tmp_path, pg_url)
    yield app
    app.server.extensions["sc_engine"].dispose()


@pytest.fixture
def app(dash_app):
    return dash_app.server


@pytest.fixture
def client(app):
    return app.test_client()


# ---------------------------------------------------------------- organisations and users
class World:
    """Two organisations, A and B, each with a site, two compressors and one user
    per role; ``tokens`` maps compressor ids to device tokens."""

    def __init__(self, server: Any) -> None:
        from dashboard.fleet.device_tokens import issue_token

        self.server = server
        self.users: dict[str, str] = {}
        self.compressors: dict[str, list[int]] = {}
        self.tokens: dict[int, str] = {}
        self.org_ids: dict[str, int] = {}
        with session_scope(server) as session:
            for org_key in ("A", "B"):
                org = get_or_create_org(session, f"Org {org_key}")
                self.org_ids[org_key] = org.id
                site = get_or_create_site(session, org, f"Site {org_key}")
                ids = []
                for n in (1, 2):
                    comp = add_compressor(session, site, f"Comp {org_key}{n}")
                    self.tokens[comp.id] = issue_token(session, comp)
                    ids.append(comp.id)
                self.compressors[org_key] = ids
                for role in ("viewer", "analyst", "manager", "admin"):
                    email = f"{role}@{org_key.lower()}.example"
                    upsert_user(session, org, email, PASSWORD, role=role)
                    self.users[f"{org_key}-{role}"] = email

    def login(self, client: Any, who: str = "A-viewer") -> Any:
        resp = client.post("/login", data={"email": self.users[who], "password": PASSWORD})
        assert resp.status_code == 302, resp.data[:500]
        return client


@pytest.fixture
def world(app) -> World:
    return World(app)


@pytest.fixture
def pg_world(pg_dash_app) -> World:
    return World(pg_dash_app.server)


# ---------------------------------------------------------------- diagnosis model
@pytest.fixture(scope="session")
def demo_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo model (bundled clips + synthetic faults), trained once per session."""
    from ml.demo import train_demo_model

    return train_demo_model(tmp_path_factory.mktemp("model"), n_per_class=12).model_path


def install_model(server: Any, model_file: Path, name: str = "test") -> int:
    """Register ``model_file`` as the active model of ``server``'s database."""
    from dashboard.analysis.registry import activate_version
    from dashboard.core.blobs import audio_store
    from dashboard.core.models import ModelVersion
    from ml.artifacts import load_artifact

    key = f"models/{name}-{model_file.stat().st_size}.joblib"
    audio_store(server).put(key, model_file.read_bytes())
    model = load_artifact(model_file)
    with session_scope(server) as s:
        version = ModelVersion(kind="classifier", name=name, artifact_path=key,
                               classes=list(model.classes), metrics={}, training_summary={},
                               library_versions={}, active=False)
        s.add(version)
        s.flush()
        activate_version(s, version.id)
        return version.id
