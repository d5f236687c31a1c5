"""/healthz, /readyz, /metrics and request ids."""

from dashboard.core.blobs import LocalStore
from tests.audio_fixtures import tone, wav_bytes


def test_readyz_checks_database_and_audio_store(client, app, tmp_path):
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json()["checks"] == {"database": "ok", "audio_store": "ok"}
    blocked = tmp_path / "file"
    blocked.write_text("x")
    app.extensions["sc_audio_store"] = LocalStore(blocked / "audio")
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["checks"]["audio_store"].startswith("error")


def test_metrics_count_ingest_and_show_queue_depth(client, world):
    cid = world.compressors["A"][0]
    headers = {"Authorization": f"Bearer {world.tokens[cid]}"}

    def value(text: str, name: str) -> float:
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = client.get("/metrics").get_data(as_text=True)
    client.post("/api/esp32/data", json=[{"seq": i, "metrics": {"current_a": 1}} for i in range(3)],
                headers=headers)
    client.post("/api/esp32/data", json={"seq": 0, "metrics": {"current_a": 1}}, headers=headers)
    client.post("/api/esp32/data", json={"seq": 9, "metrics": {"bogus": 1}}, headers=headers)
    client.post("/api/esp32/audio?seq=1", data=wav_bytes(tone(2.0)), content_type="audio/wav",
                headers=headers)
    after = client.get("/metrics").get_data(as_text=True)
    assert value(after, "signalcraft_readings_ingested_total") - value(
        before, "signalcraft_readings_ingested_total") == 3
    assert value(after, "signalcraft_reading_duplicates_total") - value(
        before, "signalcraft_reading_duplicates_total") == 1
    assert 'signalcraft_ingest_rejected_total{error="invalid_reading"}' in after
    assert 'signalcraft_analysis_queue_depth{status="queued"} 1.0' in after
    assert "signalcraft_analysis_queue_lag_seconds" in after


def test_metrics_token_is_enforced_when_set(client, app):
    app.config["METRICS_TOKEN"] = "s3cret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_every_response_carries_a_request_id(client):
    resp = client.get("/healthz")
    assert len(resp.headers["X-Request-Id"]) == 32
    echoed = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["X-Request-Id"] == "abc-123"


def test_json_log_lines_carry_the_request_id():
    import json
    import logging

    from dashboard.core.observability import JsonFormatter

    record = logging.LogRecord("signalcraft", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    record.request_id = "rid-1"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "hello x" and line["request_id"] == "rid-1" and line["level"] == "INFO"


def test_metrics_show_pool_process_release_and_delivery_figures(client):
    body = client.get("/metrics").get_data(as_text=True)
    for name in ("signalcraft_db_pool_connections", "signalcraft_process_resident_memory_bytes",
                 "signalcraft_process_open_fds", "signalcraft_build_info",
                 "signalcraft_notification_deliveries"):
        assert name in body, name
    assert 'signalcraft_build_info{release="' in body


def test_readyz_names_the_release(client):
    assert client.get("/readyz").get_json()["release"]


def test_grafana_dashboard_charts_only_metrics_the_app_exports(client):
    import json
    import re
    from pathlib import Path

    board = json.loads((Path(__file__).resolve().parents[1] / "deploy"
                        / "grafana-dashboard.json").read_text())
    body = client.get("/metrics").get_data(as_text=True)
    for panel in board["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"signalcraft_[a-z_]+", target["expr"]):
                base = re.sub(r"_(bucket|total)$", "", name)
                assert base in body, (panel["title"], name)


def test_metrics_count_and_time_each_scheduler_job(client):
    import re
    import threading
    import time

    from apscheduler.schedulers.background import BackgroundScheduler

    from dashboard.app.scheduler import instrument_jobs

    ran = {"tick": threading.Event(), "boom": threading.Event()}

    def tick():
        ran["tick"].set()

    def boom():
        ran["boom"].set()
        raise RuntimeError("job failed")

    def slow():
        time.sleep(0.6)

    scheduler = BackgroundScheduler(daemon=True)
    scheduler.add_job(tick, "date", id="test-tick")
    scheduler.add_job(boom, "date", id="test-boom")
    scheduler.add_job(slow, "interval", seconds=0.1, id="test-slow", max_instances=1)
    instrument_jobs(scheduler)
    scheduler.start()
    try:
        assert ran["tick"].wait(10) and ran["boom"].wait(10)
        time.sleep(1.0)  # slow's next runs find it still running: skipped
    finally:
        scheduler.shutdown(wait=True)

    body = client.get("/metrics").get_data(as_text=True)

    def sample(name: str, **labels: str) -> float:
        wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
        for line in body.splitlines():
            match = re.match(r"(\w+)\{(.*)\} (\S+)$", line)
            if match and match[1] == name and match[2] == wanted:
                return float(match[3])
        return 0.0

    assert sample("signalcraft_job_runs_total", job="test-tick", outcome="success") == 1
    assert sample("signalcraft_job_runs_total", job="test-tick", outcome="failure") == 0
    assert sample("signalcraft_job_runs_total", job="test-boom", outcome="failure") == 1
    assert sample("signalcraft_job_runs_total", job="test-boom", outcome="success") == 0
    assert sample("signalcraft_job_runs_total", job="test-slow", outcome="missed") >= 1
    assert sample("signalcraft_job_seconds_count", job="test-tick") == 1
    assert sample("signalcraft_job_seconds_count", job="test-boom") == 1
    assert sample("signalcraft_job_seconds_sum", job="test-slow") >= 0.5
    slow_runs = sample("signalcraft_job_seconds_bucket", job="test-slow", le="+Inf")
    assert slow_runs >= 1
    assert sample("signalcraft_job_seconds_bucket", job="test-slow", le="1.0") == slow_runs
    assert sample("signalcraft_job_seconds_bucket", job="test-slow", le="0.5") == 0
