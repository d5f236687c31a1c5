"""In real Chromium, as an analyst: the spectrogram page shows the newest recording,
choosing another recording redraws it, the clip's audio element loads from the
media route; screenshots at desktop and phone width; no console errors."""

import datetime as dt

from dashboard.core.database import session_scope
from dashboard.core.models import utcnow
from tests.factories import add_diagnosis, add_recording
from tests.test_browser_health import PORT, desktop_screenshot, login, phone_screenshots


def test_recording_choice_and_audio(dash_duo, dash_app, world):
    server = dash_app.server
    cid = world.compressors["A"][0]
    now = utcnow()
    with session_scope(server) as s:
        for i, hours in enumerate((72, 48, 24, 1)):
            rec = add_recording(server, s, cid, now - dt.timedelta(hours=hours), i + 1,
                                freq_hz=50.0 + 5 * i, seconds=2.0)
            if i == 3:
                add_diagnosis(s, cid, rec.ts, label="bearing", health_score=35.0,
                              recording_id=rec.id, features={"dominant_hz": 65.0})
    dash_duo.start_server(dash_app, navigate=False, port=PORT)
    login(dash_duo, world.users["A-analyst"])
    dash_duo.wait_for_element("#health-grid", timeout=15)
    dash_duo.driver.get(f"{dash_duo.server.url}/spectrograms")
    dash_duo.wait_for_text_to_equal("#spectro-label", "bearing", timeout=20)
    dash_duo.wait_for_contains_text("#spectro-f0", "65.0 Hz")
    dash_duo.wait_for_element("#spectro-spectrogram .main-svg")
    dash_duo.wait_for_element("#spectro-waterfall .main-svg")
    audio = dash_duo.find_element("#spectro-audio")
    status = dash_duo.driver.execute_script(
        "return fetch(arguments[0], {headers: {Range: 'bytes=0-3'}})"
        ".then(r => r.status + ' ' + r.headers.get('content-range'))",
        audio.get_attribute("src"))
    assert status.startswith("206 bytes 0-3/")
    # An older recording: not diagnosed, its own motor line found in the spectrum.
    dash_duo.select_dcc_dropdown("#spectro-recording", index=2)
    dash_duo.wait_for_text_to_equal("#spectro-label", "아직 진단되지 않음", timeout=15)
    dash_duo.wait_for_contains_text("#spectro-f0", "55.", timeout=15)
    desktop_screenshot(dash_duo, "spectrograms")
    phone_screenshots(dash_duo, "spectrograms", "#spectro-spectrogram .main-svg")
    assert dash_duo.get_logs() == [], "browser console errors"
