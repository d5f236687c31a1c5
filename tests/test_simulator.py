"""The device simulator speaks the real protocol over HTTP: readings in batches with
sequence numbers, clips, firmware checks with a ranged download, retries without
duplicates."""

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
