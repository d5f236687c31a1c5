"""In real Chromium: the fleet page is pushed, not polled. A diagnosis stored for a
compressor changes its card within 2 s while no interval timer fires (the fallback
polls are set to ten minutes and every callback request is recorded)."""

import json
import time

import requests
from flask import request

from dashboard.analysis.queue import run_analysis_batch
from ml.demo import DEMO_CLASSES, demo_clip
from tests.audio_fixtures import wav_bytes
from tests.conftest import install_model
from tests.test_browser_health import PORT, login, save_screenshot


def test_a_stored_diagnosis_changes_its_card_within_2_s_without_polling(
        dash_duo, dash_app, world, demo_model_file):
    server = dash_app.server
    server.config["HEALTH_REFRESH_MS"] = 600_000
    server.config["ALERTS_REFRESH_MS"] = 600_000
    install_model(server, demo_model_file)
    triggers: list[list[str]] = []

    @server.before_request
    def _record_callbacks() -> None:
        if request.path == "/_dash-update-component":
            triggers.append(json.loads(request.get_data() or b"{}").get("changedPropIds", []))

    dash_duo.start_server(dash_app, navigate=False, port=PORT)
    first = world.compressors["A"][0]
    token = world.tokens[first]
    base = dash_duo.server.url
    resp = requests.post(f"{base}/api/esp32/data", timeout=10,
                         json={"seq": 1, "metrics": {"temperature_c": 5.0}},
                         headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201
    login(dash_duo, world.users["A-viewer"])
    dash_duo.wait_for_text_to_equal(f"#health-status-{first}", "학습 중", timeout=15)
    assert dash_duo.find_element(f"#health-score-{first}").text == "—"
    time.sleep(1.0)  # the page has settled; from here on only pushed events may act

    samples, rate = demo_clip(DEMO_CLASSES[0], rng_seed=3)
    resp = requests.post(f"{base}/api/esp32/audio?seq=1", data=wav_bytes(samples, rate),
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "audio/wav"}, timeout=30)
    assert resp.status_code == 202
    assert run_analysis_batch(server, "browser-test") == 1
    stored = time.monotonic()
    deadline = stored + 2.0
    score = "—"
    while time.monotonic() < deadline:
        score = dash_duo.find_element(f"#health-score-{first}").text
        if score != "—":
            break
        time.sleep(0.05)
    took = time.monotonic() - stored
    assert score != "—", "the card did not change within 2 s of the diagnosis"
    assert score.isdigit()
    print(f"card changed {took * 1000:.0f} ms after the diagnosis was stored")
    save_screenshot(dash_duo, "health-live-desktop")
    fired = [t for t in triggers if any("interval" in p for p in t)]
    assert fired == [], f"an interval timer fired: {fired}"
    assert dash_duo.get_logs() == [], "browser console errors"
