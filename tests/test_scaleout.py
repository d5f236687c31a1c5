"""Scale-out and faults with real parts: two gunicorn app servers and two analysis
workers (subprocesses) on one PostgreSQL database and one S3 bucket (moto) analyse
every clip exactly once; a worker SIGKILLed mid-job leaves its claims to go stale and
another worker finishes them, still exactly once; a PostgreSQL restart in the middle of
devices' uploads loses and doubles no reading."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from dashboard.accounts.provisioning import add_compressor, get_or_create_org, get_or_create_site
from dashboard.app import create_app
from dashboard.core.database import session_scope
from dashboard.core.models import CompressorBaseline, Diagnosis, Recording
from ml.demo import DEMO_CLASSES, demo_clip
from tests.audio_fixtures import wav_bytes
from tests.conftest import _truncate_all, install_model, missing
from tests.live_server import serve
from tests.processes import (
    PrivateCluster,
    Processes,
    app_env,
    free_port,
    http_ready,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]

AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_DEFAULT_REGION": "us-east-1"}


# ---------------------------------------------------------------- helpers
@pytest.fixture
def s3_url(monkeypatch):
    """A moto S3 server on 127.0.0.1 with an empty ``clips`` bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    for key, value in AWS.items():
        monkeypatch.setenv(key, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        # moto keeps one in-memory backend per process: start from an empty one.
        requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()
        boto3.client("s3", endpoint_url=url).create_bucket(Bucket="clips")
        yield url
    finally:
        server.stop()


def _server(tmp_path: Path, pg_url: str, **extra):
    """The in-process app the test uses to provision devices and install the model."""
    _truncate_all(pg_url)
    config = {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": pg_url,
              "INSTANCE_PATH": str(tmp_path / "instance")}
    config.update(extra)
    return create_app(config).server


def provision(server, n: int) -> dict[int, str]:
    """``n`` compressors in one organisation; returns {compressor id: device token}."""
    from dashboard.fleet.device_tokens import issue_token

    tokens: dict[int, str] = {}
    with session_scope(server) as session:
        org = get_or_create_org(session, "Scale Org")
        site = get_or_create_site(session, org, "Plant 1")
        for i in range(n):
            comp = add_compressor(session, site, f"Comp {i}")
            tokens[comp.id] = issue_token(session, comp)
    return tokens


def clip(seq: int, seconds_factor: int = 1) -> bytes:
    samples, rate = demo_clip(DEMO_CLASSES[seq % len(DEMO_CLASSES)], rng_seed=seq)
    if seconds_factor > 1:
        import numpy as np

        samples = np.tile(samples, seconds_factor)
    return wav_bytes(samples, rate)


def post_clip(base: str, token: str, seq: int, data: bytes) -> dict:
    resp = requests.post(f"{base}/api/esp32/audio?seq={seq}", data=data, timeout=30,
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "audio/wav"})
    assert resp.status_code == 202, (base, seq, resp.status_code, resp.text[:300])
    return resp.json()


def worker_name(procs: Processes, name: str) -> str:
    found = re.search(r"analysis worker (\S+) started", procs.log(name))
    return found.group(1) if found else ""


def recording_rows(server) -> list[tuple]:
    with session_scope(server) as s:
        return s.execute(sa.select(
            Recording.id, Recording.compressor_id, Recording.seq, Recording.status,
            Recording.attempts, Recording.claimed_by, Recording.audio_key,
        ).order_by(Recording.id)).all()


def diagnoses_per_recording(server) -> dict[int, int]:
    with session_scope(server) as s:
        return dict(s.execute(sa.select(Diagnosis.recording_id, sa.func.count())
                              .group_by(Diagnosis.recording_id)).all())


def count_status(server, status: str) -> int:
    with session_scope(server) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Recording)
                        .where(Recording.status == status))


# ---------------------------------------------------------------- 1. scale-out
def test_two_app_servers_and_two_workers_analyse_every_recording_exactly_once(
        tmp_path, pg_url, s3_url, demo_model_file):
    import boto3

    store = {"AUDIO_STORE": "s3://clips/prod", "S3_ENDPOINT_URL": s3_url}
    server = _server(tmp_path, pg_url, **store)
    try:
        install_model(server, demo_model_file)
        tokens = provision(server, 4)
        env = app_env(pg_url, tmp_path / "sub-instance", SIGNALCRAFT_AUDIO_STORE="s3://clips/prod",
                      S3_ENDPOINT_URL=s3_url, **AWS)
        ports = [free_port(), free_port()]
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        with Processes(tmp_path) as procs:
            for i, port in enumerate(ports):
                procs.server(f"app{i}", port, env)
            for i in range(2):
                procs.worker(f"worker{i}", env, interval=0.5, batch=2)
            for base in bases:
                wait_for(http_ready(f"{base}/healthz"), 60, f"{base} to answer", procs)

            devices = sorted(tokens)
            # 4 devices x 6 seqs, alternating servers, 4 requests in flight at a time.
            jobs = [(cid, seq, bases[(k + seq) % 2])
                    for seq in range(6) for k, cid in enumerate(devices)]
            data = {seq: clip(seq) for seq in range(6)}
            with ThreadPoolExecutor(4) as pool:
                first = list(pool.map(
                    lambda j: (j, post_clip(j[2], tokens[j[0]], j[1], data[j[1]])), jobs))
            ids = {(cid, seq): body["recording_id"] for (cid, seq, _b), body in first}
            assert not any(body["duplicate"] for _j, body in first)

            # A device retrying a clip the first server already stored, at the other one.
            for cid, seq, base in jobs[::5]:
                other = bases[1 - bases.index(base)]
                again = post_clip(other, tokens[cid], seq, data[seq])
                assert again == {"recording_id": ids[(cid, seq)], "duplicate": True}

            # The same new clip arriving at both servers at the same moment.
            for cid in devices[:2]:
                barrier = threading.Barrier(2)

                def racer(base: str, cid: int = cid, barrier=barrier) -> dict:
                    barrier.wait()
                    return post_clip(base, tokens[cid], 100, data[0])

                with ThreadPoolExecutor(2) as pool:
                    a, b = pool.map(racer, bases)
                assert a["recording_id"] == b["recording_id"]
                assert sorted([a["duplicate"], b["duplicate"]]) == [False, True]
                ids[(cid, 100)] = a["recording_id"]

            expected = len(ids)
            assert expected == 26
            wait_for(lambda: count_status(server, "done") == expected, 60,
                     "every recording to be analysed", procs, interval=0.25)
            time.sleep(1.0)  # a double analysis, if any, would have landed by now
            names = {worker_name(procs, f"worker{i}") for i in range(2)}
            alive = {n: p.poll() is None for n, p in procs.procs.items()}

        rows = recording_rows(server)
        assert {(r.compressor_id, r.seq): r.id for r in rows} == ids  # each clip stored once
        assert {r.status for r in rows} == {"done"}
        # No analysis failed (two workers meeting the same new compressor once raced on
        # its baseline row) and none was claimed twice.
        assert max(r.attempts for r in rows) == 1
        retried = sum(r.attempts > 1 for r in rows)
        assert diagnoses_per_recording(server) == {rid: 1 for rid in ids.values()}
        assert all(alive.values()), alive
        assert "" not in names and len(names) == 2
        by_worker = {r.claimed_by for r in rows}
        assert by_worker <= names and by_worker
        split = {n: sum(r.claimed_by == n for r in rows) for n in sorted(names)}
        with session_scope(server) as s:
            seen = dict(s.execute(sa.select(CompressorBaseline.compressor_id,
                                            CompressorBaseline.clips_seen)).all())
        per_device = {cid: sum(r.compressor_id == cid for r in rows) for cid in devices}
        # Counted in the database: workers analysing one compressor at once add up.
        assert seen == {cid: n for cid, n in per_device.items()}, (seen, per_device)
        print(f"recordings per worker: {split}; retried after an error: {retried}; "
              f"baseline clips_seen {seen} vs clips {per_device}")

        s3 = boto3.client("s3", endpoint_url=s3_url)
        objects = {o["Key"] for page in s3.get_paginator("list_objects_v2")
                   .paginate(Bucket="clips", Prefix="prod/org") for o in page.get("Contents", [])}
        # every clip's audio is in the bucket, and no blob was left behind by a duplicate
        assert objects == {f"prod/{r.audio_key}" for r in rows}
    finally:
        server.extensions["sc_engine"].dispose()


# ---------------------------------------------------------------- 1b. events across servers
def test_stream_on_server_a_hears_a_device_posting_to_server_b(tmp_path, pg_url):
    """LISTEN/NOTIFY across processes: a browser's event stream on app server A gets
    the readings event of a batch a device posted to app server B, and a revocation
    through A refuses the device's cached token on B at once."""
    from dashboard.accounts.provisioning import upsert_user
    from dashboard.core.models import Compressor, Organization
    from dashboard.fleet.device_tokens import revoke_tokens
    from tests.conftest import PASSWORD
    from tests.test_live import Stream

    server = _server(tmp_path, pg_url)
    try:
        tokens = provision(server, 2)
        with session_scope(server) as s:
            org = s.scalar(sa.select(Organization).where(Organization.name == "Scale Org"))
            upsert_user(s, org, "viewer@scale.example", PASSWORD, role="viewer")
        env = app_env(pg_url, tmp_path / "sub-instance", SIGNALCRAFT_LIVE_HEARTBEAT="1")
        ports = [free_port(), free_port()]
        a, b = (f"http://127.0.0.1:{p}" for p in ports)
        with Processes(tmp_path) as procs:
            procs.server("appA", ports[0], env)
            procs.server("appB", ports[1], env)
            for base in (a, b):
                wait_for(http_ready(f"{base}/healthz"), 60, f"{base} to answer", procs)
            http = requests.Session()
            form = http.get(f"{a}/login", timeout=10).text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
            login = http.post(f"{a}/login", data={"email": "viewer@scale.example",
                                                  "password": PASSWORD, "csrf_token": csrf},
                              allow_redirects=False, timeout=10)
            assert login.status_code == 302, login.text[:300]
            stream = Stream(a, http.cookies)
            try:
                stream.next("ready", timeout=15)
                cid, token = next(iter(tokens.items()))
                sent = time.time()
                resp = requests.post(f"{b}/api/esp32/data", timeout=10,
                                     json={"seq": 1, "metrics": {"current_a": 4.0}},
                                     headers={"Authorization": f"Bearer {token}"})
                assert resp.status_code == 201, resp.text
                msg = stream.next("readings", timeout=10)
                heard = time.time()
                assert cid in msg["data"]["compressors"] and cid in msg["data"]["online"]
                print(f"event from server B heard on server A {1000 * (heard - sent):.0f} ms "
                      f"after the post")
            finally:
                stream.close()
            # B has the token cached now; revoked (here, as server A would), it is refused.
            with session_scope(server) as s:
                revoke_tokens(s, s.get(Compressor, cid))
            resp = requests.post(f"{b}/api/esp32/data", timeout=10,
                                 json={"seq": 2, "metrics": {"current_a": 4.0}},
                                 headers={"Authorization": f"Bearer {token}"})
            assert resp.status_code == 401
    finally:
        server.extensions["sc_engine"].dispose()


# ---------------------------------------------------------------- 2. killed worker
def test_killed_worker_mid_job_leaves_recording_analysed_exactly_once(
        tmp_path, pg_url, demo_model_file):
    audio = tmp_path / "audio"
    store = {"AUDIO_STORE": f"file://{audio}"}
    server = _server(tmp_path, pg_url, **store)
    try:
        install_model(server, demo_model_file)
        [(cid, token)] = provision(server, 1).items()
        client = server.test_client()
        env = app_env(pg_url, tmp_path / "sub-instance", SIGNALCRAFT_AUDIO_STORE=f"file://{audio}",
                      SIGNALCRAFT_ANALYSIS_STALE_SECONDS="3")
        data = clip(1, seconds_factor=2)  # 10 s clips: a few hundred ms of analysis each

        def queue(first_seq: int, n: int) -> None:
            for seq in range(first_seq, first_seq + n):
                resp = client.post(f"/api/esp32/audio?seq={seq}", data=data,
                                   content_type="audio/wav",
                                   headers={"Authorization": f"Bearer {token}"})
                assert resp.status_code == 202, resp.get_json()

        with Processes(tmp_path) as procs:
            orphans: set[int] = set()
            dead_worker = ""
            for attempt in range(3):
                queue(attempt * 100, 12)
                name = f"worker-a{attempt}"
                pid = procs.worker(name, env, interval=0.2, batch=50).pid

                def a_is_mid_batch(pid: int = pid) -> bool:
                    # the claim commits before analysis: A has finished one and holds the rest
                    with session_scope(server) as s:
                        return bool(s.scalar(sa.select(sa.func.count()).select_from(Recording)
                                             .where(Recording.status == "done",
                                                    Recording.claimed_by.like(f"%:{pid}:%"))))

                wait_for(a_is_mid_batch, 60, f"{name} to analyse its first recording", procs,
                         interval=0.01)
                procs.kill(name)  # SIGKILL: no cleanup, the claims stay behind
                dead_worker = worker_name(procs, name)
                assert f":{pid}:" in dead_worker
                orphans = {r.id for r in recording_rows(server)
                           if r.status == "analyzing" and r.claimed_by == dead_worker}
                finished_by_a = {r.id for r in recording_rows(server)
                                 if r.status == "done" and r.claimed_by == dead_worker}
                if orphans:
                    break
            assert orphans, "the worker was never killed mid-batch"

            procs.worker("worker-b", env, interval=0.2, batch=4)
            wait_for(lambda: count_status(server, "done") == len(recording_rows(server)), 60,
                     "worker B to finish every recording", procs, interval=0.25)
            time.sleep(0.5)
            survivor = worker_name(procs, "worker-b")

        rows = recording_rows(server)
        assert {r.status for r in rows} == {"done"}
        assert diagnoses_per_recording(server) == {r.id: 1 for r in rows}
        reclaimed = [r for r in rows if r.id in orphans]
        # the dead worker's claims were taken over only after going stale, then finished once
        assert all(r.attempts == 2 and r.claimed_by == survivor for r in reclaimed), reclaimed
        assert max(r.attempts for r in rows) == 2
        # what the dead worker had committed stands: not analysed again
        assert finished_by_a and all(r.attempts == 1 and r.claimed_by == dead_worker
                                     for r in rows if r.id in finished_by_a)
        print(f"killed after {len(finished_by_a)} done; {len(orphans)} of {len(rows)} reclaimed")
    finally:
        server.extensions["sc_engine"].dispose()


# ---------------------------------------------------------------- 3. database restart
def test_database_restart_during_ingest_loses_and_doubles_nothing(tmp_path):
    """Restarts a PostgreSQL cluster of the test's own (the shared one may be in use by
    other test runs), while simulated devices post readings to a live server."""
    from dashboard.core.migrations import upgrade
    from dashboard.core.models import Reading
    from firmware.simulator import DeviceState, Simulator

    cluster = PrivateCluster.find()
    if cluster is None:
        missing("PostgreSQL server binaries (initdb, pg_ctl) not installed")
    server = None
    try:
        cluster.start()
        upgrade(cluster.url)
        server = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                             "DATABASE_URL": cluster.url,
                             "INSTANCE_PATH": str(tmp_path / "instance")}).server
        tokens = provision(server, 3)
        devices = [DeviceState(token=token, name=f"dev{cid}", seed=cid)
                   for cid, token in tokens.items()]
        first_seq = {d.name: d.seq for d in devices}
        statuses: list[tuple[int, str | None]] = []
        with serve(server) as url:
            sim = Simulator(url, devices, reading_interval=0.1, timeout=5.0,
                            clip_interval=None, firmware_interval=None)
            sim.http.hooks["response"].append(
                lambda r, *a, **k: statuses.append((r.status_code, r.headers.get("Retry-After")))
                if r.request.method == "POST" else None)
            thread = sim.start_background()
            try:
                for _attempt in range(3):  # again if the restart fell between two uploads
                    wait_for(lambda: sim.sent >= 30, 30, "readings to flow")
                    cluster.restart()
                    wait_for(cluster.ready, 30, "pg_isready after the restart")
                    restarted_at = len(statuses)

                    def flowing_again(since: int = restarted_at) -> bool:
                        return sum(code == 201 for code, _ in statuses[since:]) >= 30

                    wait_for(flowing_again, 30, "readings to flow again after the restart")
                    if any(code == 503 for code, _ in statuses):
                        break
            finally:
                sim.stop()
                thread.join(timeout=30)
            # the device keeps what it could not send, and sends it once the server answers
            for _ in range(20):
                if not any(d.pending for d in devices):
                    break
                for d in devices:
                    sim.post_with_retry(d, max_attempts=1)
                time.sleep(0.2)
            assert not any(d.pending for d in devices)

        codes = [code for code, _ in statuses]
        print(f"responses: { {c: codes.count(c) for c in sorted(set(codes))} }")
        assert 503 in codes, "the restart did not overlap any upload"
        assert {ra for code, ra in statuses if code == 503} == {"5"}  # Retry-After
        assert set(codes) <= {201, 503}
        with session_scope(server) as s:
            by_device = {}
            for cid, seq in s.execute(sa.select(Reading.compressor_id, Reading.seq)):
                by_device.setdefault(cid, []).append(seq)
        for cid, device in zip(tokens, devices, strict=True):
            generated = list(range(first_seq[device.name] + 1, device.seq + 1))
            assert sorted(by_device.get(cid, [])) == generated  # none lost, none doubled
    finally:
        if server is not None:
            server.extensions["sc_engine"].dispose()
        cluster.stop()
