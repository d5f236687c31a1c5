"""Real subprocesses for scale-out tests: app servers and analysis workers started from
the repository's virtualenv, each in its own session so the whole process group can be
killed, and all of them killed when the ``Processes`` context exits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment of a subprocess: this one's, minus any SignalCraft settings
    that could leak in, plus the given database, instance folder and ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SIGNALCRAFT_", "GUNICORN_")) and k not in
           ("DATABASE_URL", "S3_ENDPOINT_URL", "SECRET_KEY", "FLASK_APP")}
    env.update(DATABASE_URL=database_url, SIGNALCRAFT_INSTANCE_PATH=str(instance),
               SECRET_KEY="scaleout-test-secret-0123456789abcdef", OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               PYTHONUNBUFFERED="1", SIGNALCRAFT_SCHEDULER="false")
    env.update(extra)
    return env


class Processes:
    """Start subprocesses; on exit (or ``kill``) SIGKILL their whole process groups."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.killed: set[str] = set()

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "wb")
        try:
            proc = subprocess.Popen(args, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        finally:
            log.close()
        self.procs[name] = proc
        return proc

    def server(self, name: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
        # Command-line settings override the repository's gunicorn.conf.py.
        return self.start(name, [str(VENV_BIN / "gunicorn"), "-w", "1", "-k", "gthread",
                                 "--threads", "4", "-b", f"127.0.0.1:{port}",
                                 "--timeout", "60", "--access-logfile", "-",
                                 "wsgi:server"], env)

    def worker(self, name: str, env: dict[str, str], interval: float = 0.5,
               batch: int = 8) -> subprocess.Popen[bytes]:
        return self.start(name, [str(VENV_BIN / "flask"), "--app", "wsgi", "worker",
                                 "--interval", str(interval), "--batch", str(batch)], env)

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"----- {name}\n{self.log(name)}" for name in self.procs)

    def kill(self, name: str) -> None:
        proc = self.procs.get(name)
        if proc is None:
            return
        self.killed.add(name)
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=10)

    def kill_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.kill_all()


def wait_for(condition: Callable[[], Any], timeout: float, what: str,
             procs: Processes | None = None, interval: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with the process logs."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if procs is not None:
            dead = [n for n, p in procs.procs.items()
                    if p.poll() is not None and n not in procs.killed]
            if dead:
                raise AssertionError(f"{dead} exited while waiting for {what}\n{procs.logs()}")
        if time.monotonic() > deadline:
            logs = procs.logs() if procs is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")
        time.sleep(interval)


def http_ready(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status < 500
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except OSError:
            return False

    return check


class PrivateCluster:
    """A throwaway PostgreSQL cluster of this test's own (initdb in a temporary folder,
    on a free port, 127.0.0.1 only), so it can be restarted without disturbing the
    shared server other tests use. ``None`` from ``find`` when the server binaries (or,
    as root, the ``postgres`` account to run them) are missing."""

    def __init__(self, bindir: Path, as_postgres: bool) -> None:
        import tempfile

        self.bindir = bindir
        self.as_postgres = as_postgres
        self.dir = Path(tempfile.mkdtemp(prefix="sc-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if as_postgres:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    @classmethod
    def find(cls) -> PrivateCluster | None:
        import glob
        import shutil

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        initdb = found[-1] if found else shutil.which("initdb")
        if not initdb:
            return None
        as_postgres = os.geteuid() == 0
        if as_postgres:
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError:
                return None
            if not shutil.which("runuser"):
                return None
        return cls(Path(initdb).parent, as_postgres)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, timeout=timeout, cwd=self.dir,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"),
                  "-w", "-t", "30", "start")

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "restart")

    def ready(self) -> bool:
        return subprocess.run([str(self.bindir / "pg_isready"), "-h", "127.0.0.1",
                               "-p", str(self.port), "-t", "2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def stop(self) -> None:
        import shutil

        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except (subprocess.SubprocessError, OSError):
            pid_file = self.data / "postmaster.pid"
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
