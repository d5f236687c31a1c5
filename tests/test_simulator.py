"""The device simulator speaks the real protocol over HTTP: readings in batches with
sequence numbers, clips, firmware checks with a ranged download, retries without
duplicates."""

import time

import sqlalchemy as sa

from dashboard.core.blobs import audio_store
from dashboard.core.database import session_scope
from dashboard.core.models import Compressor, Reading, Recording
from dashboard.fleet.firmware import create_release
from firmware.simulator import DeviceState, Simulator, backoff_delay, sample_metrics
from tests.live_server import serve


def test_simulate_command_posts_readings_and_clips_over_http(app):
    with serve(app) as url:
        result = app.test_cli_runner().invoke(args=[
            "simulate", "--url", url, "--devices", "3", "--interval", "0.3", "--batch", "2",
            "--clip-interval", "1", "--duration", "2.5", "--threads", "2"])
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.output
    with session_scope(app) as s:
        comps = s.scalars(sa.select(Compressor).where(Compressor.name.like("sim-%"))).all()
        assert len(comps) == 3 and all(c.last_seen_at for c in comps)
        per_device = dict(s.execute(sa.select(Reading.compressor_id, sa.func.count())
                                    .group_by(Reading.compressor_id)).all())
        assert set(per_device) == {c.id for c in comps}
        assert all(n >= 4 for n in per_device.values())
        clips = s.scalars(sa.select(Recording)).all()
        assert len(clips) >= 3
        assert {(r.sample_rate, round(r.duration_s)) for r in clips} == {(16000, 5)}


def test_simulated_device_installs_offered_firmware(app, world):
    cid = world.compressors["A"][0]
    blob = b"\xe9" + bytes(5000)
    with session_scope(app) as s:
        create_release(s, audio_store(app), world.org_ids["A"], "1.1.0", "esp32-inmp441",
                       None, blob)
    device = DeviceState(token=world.tokens[cid], name="d", seed=1)
    with serve(app) as url:
        sim = Simulator(url, [device], clip_interval=None, firmware_interval=None)
        assert sim.check_firmware(device) == "1.1.0"
        assert sim.check_firmware(device) is None  # now up to date
    with session_scope(app) as s:
        comp = s.get(Compressor, cid)
        assert (comp.firmware_version, comp.firmware_state) == ("1.1.0", "installed")


def test_retried_batch_is_not_stored_twice(app, world):
    cid = world.compressors["A"][1]
    device = DeviceState(token=world.tokens[cid], name="d", seed=2)
    with serve(app) as url:
        sim = Simulator(url, [device], clip_interval=None, firmware_interval=None)
        device.pending = [{"seq": device.next_seq(), "metrics": {"current_a": 1.0}}
                          for _ in range(5)]
        resent = list(device.pending)
        assert sim.post_readings(device)
        device.pending = resent  # as if the answer was lost and the device retries
        assert sim.post_readings(device)
    with session_scope(app) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Reading)) == 5


def test_metrics_stay_in_the_servers_ranges_and_backoff_is_bounded():
    from ingestion.schemas import METRICS

    for profile in ("normal", "bearing_wear", "valve_leak", "overheating"):
        state = DeviceState(token="t", name="n", profile=profile, seed=3)
        for t in range(0, 20000, 997):
            for name, value in sample_metrics(state, 1.7e9 + t).items():
                low, high = METRICS[name]
                assert low <= value <= high, (profile, name, value)
    import random

    rng = random.Random(0)
    delays = [backoff_delay(a, base=0.5, cap=8, rng=rng) for a in range(12) for _ in range(20)]
    assert all(0 <= d <= 8 for d in delays) and max(delays) > 4


def _firmware_metric_names() -> list[str]:
    """The JSON keys of sc::metric_name() in the firmware, in enum order."""
    import pathlib
    import re

    source = (pathlib.Path(__file__).parents[1] / "firmware/esp32/lib/signalcraft/payload.cpp"
              ).read_text()
    body = source.split("const char* metric_name(Metric m)", 1)[1].split("default:", 1)[0]
    return re.findall(r'case k\w+: return "(\w+)";', body)


def test_simulator_firmware_and_server_agree_on_metric_names():
    from dashboard.alerts.defaults import DEFAULT_RULES
    from dashboard.core.sensors import METRIC_KEYS
    from firmware.simulator import FIRMWARE_METRICS, SENSOR_KITS

    assert tuple(_firmware_metric_names()) == FIRMWARE_METRICS
    assert set(FIRMWARE_METRICS) <= set(METRIC_KEYS)
    assert all(kit <= set(FIRMWARE_METRICS) for kit in SENSOR_KITS)
    # The default vibration rule reads a metric devices really send, and most kits have it.
    vibration = next(r for r in DEFAULT_RULES if r["key"] == "vibration")["params"]["metric"]
    assert vibration in FIRMWARE_METRICS
    assert sum(vibration in kit for kit in SENSOR_KITS) >= len(SENSOR_KITS) - 1


def test_absent_sensors_are_left_out_of_the_payload():
    from firmware.simulator import FULL_KIT, sensor_kit

    full = DeviceState(token="t", name="n", seed=4)
    assert set(sample_metrics(full, 1.7e9)) == FULL_KIT
    basic = DeviceState(token="t", name="n", seed=4,
                        sensors=frozenset({"temperature_c", "current_a"}))
    assert set(sample_metrics(basic, 1.7e9)) == {"temperature_c", "current_a"}
    # Same device, same moment: the fitted sensors read the same with or without the others.
    assert sample_metrics(basic, 1.7e9) == {k: v for k, v in sample_metrics(full, 1.7e9).items()
                                             if k in basic.sensors}
    # A fleet mixes kits: some devices lack humidity or pressure.
    kits = [sensor_kit(i) for i in range(8)]
    assert any("humidity_pct" not in k for k in kits) and any("pressure_bar" not in k for k in kits)
    assert all({"temperature_c", "current_a"} <= k for k in kits)


def test_device_without_any_sensor_sends_no_reading(app, world):
    cid = world.compressors["A"][0]
    device = DeviceState(token=world.tokens[cid], name="d", seed=5, sensors=frozenset())
    with serve(app) as url:
        sim = Simulator(url, [device], clip_interval=None, firmware_interval=None)
        sim.tick(time.time())
        assert sim.errors == 0 and device.pending == []
    with session_scope(app) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Reading)) == 0


def test_simulated_kit_is_stored_with_absent_metrics_empty(app, world):
    cid = world.compressors["A"][0]
    kit = frozenset({"temperature_c", "current_a", "vibration_rms_g"})
    device = DeviceState(token=world.tokens[cid], name="d", seed=6, sensors=kit)
    with serve(app) as url:
        sim = Simulator(url, [device], clip_interval=None, firmware_interval=None)
        now = time.time()
        for t in range(3):
            sim.tick(now - 15 + 5 * t)
        assert sim.errors == 0 and sim.sent == 3
    with session_scope(app) as s:
        rows = s.scalars(sa.select(Reading).where(Reading.compressor_id == cid)).all()
    assert len(rows) == 3
    assert all(r.pressure_bar is None and r.humidity_pct is None for r in rows)
    assert all(r.temperature_c is not None and r.current_a is not None for r in rows)
    assert all(0.0 < r.vibration_rms_g < 1.0 for r in rows)


def test_simulated_values_are_plausible_for_the_firmwares_sensors():
    from firmware.simulator import PRESSURE_RANGE_BAR

    def vibration(profile: str) -> list[float]:
        state = DeviceState(token="t", name="n", profile=profile, seed=7)
        return [sample_metrics(state, state.started + 3600 * 6 + t)["vibration_rms_g"]
                for t in range(0, 6000, 7)]

    normal, worn = vibration("normal"), vibration("bearing_wear")
    # A normal compressor stays under the default 0.45 g rule even while running; a
    # worn bearing exceeds it while running, and idles near zero when stopped.
    assert 0.1 < max(normal) < 0.45 < max(worn)
    assert min(normal) < 0.05 and min(worn) < 0.1
    for profile in ("normal", "valve_leak"):
        state = DeviceState(token="t", name="n", profile=profile, seed=8)
        for t in range(0, 6000, 13):
            m = sample_metrics(state, 1.7e9 + t)
            assert PRESSURE_RANGE_BAR[0] <= m["pressure_bar"] <= PRESSURE_RANGE_BAR[1]
            assert 0.0 <= m["humidity_pct"] <= 100.0


def test_a_fault_ramps_up_over_hours_instead_of_jumping():
    from firmware.simulator import DeviceState, fault_severity
    state = DeviceState(token="t", name="d", profile="bearing_wear", healthy_clips=2)
    assert fault_severity(state, 0.0) == 0.0  # still teaching the server its normal
    state.clips_sent = 2
    start = 1000.0
    assert fault_severity(state, start) == 0.0
    one_hour = fault_severity(state, start + 3600)
    assert 0.1 < one_hour < 0.25
    assert fault_severity(state, start + 3 * 3600) > one_hour
    assert fault_severity(state, start + 24 * 3600) == 1.0
    assert fault_severity(DeviceState(token="t", name="n", clips_sent=99), 5e4) == 0.0
