"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:server`.
Each value can be overridden by the environment variable named beside it."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8050")
# gthread: a slow callback holds one thread, not a whole worker (STACK-NOTES.md), and
# each open browser tab holds one thread with its event stream (dashboard/app/live.py):
# an idle stream is a thread blocked on a queue, ~100 kB and no CPU, so threads are
# many. A worker whose threads are all taken queues new requests behind the streams,
# so keep threads above the tabs a worker may hold (bench/streams.py measured the
# choice against gevent: README "Speed").
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = int(os.environ.get("GUNICORN_WORKERS", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("GUNICORN_THREADS", "256"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Device uploads are at most 4 MB; nginx enforces the same limit in front.
limit_request_line = 8190
# Recycle workers now and then (a guard against slow leaks), rarely: a restart costs
# a few seconds of CPU, and at 5,000 a worker of a 1,000-device fleet restarted every
# ~100 s (bench/load.py).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = 10000
# No access log of gunicorn's own by default: nginx in front logs every request
# (deploy/nginx), and formatting a line took 8 % of a device call's CPU even when
# written to /dev/null (issue 14). "-" writes it to stdout (the container image does).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The master's pid, read by deploy/deploy.sh and by systemd (PIDFile= in
# deploy/systemd/signalcraft-web.service: keep the two equal). During a USR2 reload the
# new master writes "<pidfile>.2"; deploy.sh puts its pid under the plain name before
# stopping the old master, so systemd follows the master that remains.
pidfile = os.environ.get("GUNICORN_PIDFILE") or None


def pre_exec(server):
    # USR2 re-executes sys.executable, the python of the release that started first;
    # the new master must run on the venv of the release `current` points to now.
    python = os.path.join(server.START_CTX["cwd"], ".venv", "bin", "python")
    if os.path.exists(python):
        server.START_CTX[0] = python


def on_starting(server):
    # Prometheus counters add up across workers only through a shared folder.
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))


def post_worker_init(worker):
    # One request through the app before this worker takes connections: Dash sets
    # itself up on the first request (a before_request hook), and several threads
    # arriving at once in a fresh worker raced in it (a 500 seen after a USR2 reload:
    # "dictionary changed size during iteration" in Dash's _setup_server).
    from werkzeug.test import Client

    status = Client(worker.wsgi).get("/healthz").status_code
    if status != 200:
        worker.log.warning("warm-up request: /healthz answered %s", status)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
