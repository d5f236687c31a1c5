"""In real Chromium, as an analyst: the spectrogram page shows the newest recording,
choosing another recording redraws it, the clip's audio element loads from the
media route; screenshots at desktop and phone width; no console errors."""

import datetime as dt
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.core.database import session_scope
from dashboard.core.models import utcnow
from tests.conftest import install_model
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


ROOT = Path(__file__).resolve().parents[1]
# A real compressor recording (48 kHz, 2 s), which Chromium's fake microphone loops.
FAKE_MIC_WAV = next(iter(sorted((ROOT / "ml" / "demo_clips" / "run").glob("*.wav"))))
FAKE_MIC = ("--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required")


def _open_spectrograms(dash_duo, dash_app, world) -> None:
    dash_duo.start_server(dash_app, navigate=False, port=PORT)
    login(dash_duo, world.users["A-analyst"])
    dash_duo.wait_for_element("#health-grid", timeout=15)
    dash_duo.driver.get(f"{dash_duo.server.url}/spectrograms")
    button = dash_duo.wait_for_element("#spectro-record", timeout=20)
    dash_duo.wait_for_element("#spectro-waterfall .main-svg", timeout=20)
    # The graphs above still grow while they load: scroll until the button stays put
    # under the pointer, so the click below is a real tap on it.
    WebDriverWait(dash_duo.driver, 20, poll_frequency=0.3).until(lambda d: d.execute_script(
        "var b = arguments[0]; b.scrollIntoView({block: 'center'});"
        "var r = b.getBoundingClientRect();"
        "return b.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));",
        button))


@pytest.mark.chromium_args(*FAKE_MIC, "--use-fake-ui-for-media-stream",
                           f"--use-file-for-fake-audio-capture={FAKE_MIC_WAV}")
def test_browser_recording_is_diagnosed_like_an_upload(dash_duo, dash_app, world,
                                                       demo_model_file):
    install_model(dash_app.server, demo_model_file)
    _open_spectrograms(dash_duo, dash_app, world)
    button = dash_duo.find_element("#spectro-record")
    assert button.size["height"] >= 44  # a finger-sized target
    button.click()
    dash_duo.wait_for_contains_text("#spectro-record-status", "녹음 중", timeout=10)
    # 8 s of recording, then the same analysis and display as an uploaded WAV.
    dash_duo.wait_for_contains_text("#spectro-upload-diagnosis", "신뢰도", timeout=60)
    name = dash_duo.find_element("#spectro-upload-name").text
    assert name.startswith("recording-") and "16000 Hz" in name and "8.0 s" in name, name
    dash_duo.wait_for_element("#spectro-upload-spectrogram .main-svg")
    dash_duo.wait_for_contains_text("#spectro-record-status", "8초 녹음했습니다")
    last = dash_duo.driver.execute_script("return window.signalcraftRecorder.last()")
    assert last["rate"] == 16000 and last["frames"] == 8 * 16000
    assert last["peak"] > 0.01, "the fake microphone's recording came out silent"
    assert dash_duo.find_element("#spectro-record").is_enabled()  # ready for another take
    assert dash_duo.get_logs() == [], "browser console errors"


@pytest.mark.chromium_args(*FAKE_MIC, "--deny-permission-prompts")
def test_browser_recording_without_microphone_permission_says_so(dash_duo, dash_app, world):
    _open_spectrograms(dash_duo, dash_app, world)
    dash_duo.find_element("#spectro-record").click()
    dash_duo.wait_for_contains_text("#spectro-record-status", "마이크 사용이 거부되었습니다",
                                    timeout=15)
    assert "text-danger" in dash_duo.find_element("#spectro-record-status").get_attribute("class")
    assert dash_duo.find_element("#spectro-record").is_enabled()
    assert dash_duo.find_elements("#spectro-upload-diagnosis") == []
