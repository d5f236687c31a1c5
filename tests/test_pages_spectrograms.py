"""The spectrogram page and the audio route: analysts only, own organisation only,
HTTP Range for seeking, recording choice, motor-frequency markers and uploads."""

import base64
import datetime as dt

import pytest

from dashboard.core.database import session_scope
from dashboard.core.models import utcnow
from tests.conftest import install_model
from tests.dash_client import call_callback, ids_in, output_of, page_layout, text_of
from tests.factories import add_diagnosis, add_recording, wav_bytes


@pytest.fixture
def clips(dash_app, world):
    """Three recordings of compressor A1 (the newest with a diagnosis that knows its
    motor line) and one of B1."""
    server = dash_app.server
    a1, b1 = world.compressors["A"][0], world.compressors["B"][0]
    now = utcnow()
    with session_scope(server) as s:
        old = add_recording(server, s, a1, now - dt.timedelta(days=3), 1, freq_hz=50.0)
        mid = add_recording(server, s, a1, now - dt.timedelta(days=1), 2, freq_hz=50.0)
        new = add_recording(server, s, a1, now - dt.timedelta(hours=1), 3, freq_hz=60.0)
        add_diagnosis(s, a1, new.ts, label="bearing", health_score=35.0, recording_id=new.id,
                      features={"dominant_hz": 60.0, "rms_db": -12.0})
        foreign = add_recording(server, s, b1, now, 1)
        return {"old": old.id, "mid": mid.id, "new": new.id, "foreign": foreign.id}


def _layout_as(server, world, who, **query):
    return page_layout(server, "/spectrograms", world.users[who], **query)


def test_viewers_get_neither_the_page_nor_its_data(client, world, dash_app, clips):
    assert "page-forbidden" in ids_in(_layout_as(dash_app.server, world, "A-viewer"))
    assert "spectro-compressor" in ids_in(_layout_as(dash_app.server, world, "A-analyst"))
    world.login(client, "A-viewer")
    assert call_callback(client, dash_app, "spectro-compressor.options").status_code == 204
    assert client.get(f"/media/recording/{clips['new']}.wav").status_code == 404


def test_audio_is_served_with_ranges_to_own_analysts_only(client, world, dash_app, clips):
    url = f"/media/recording/{clips['new']}.wav"
    assert client.get(url).status_code == 302  # anonymous: to the login page
    world.login(client, "B-analyst")
    assert client.get(url).status_code == 404
    assert client.get(f"/media/recording/{clips['foreign']}.wav").status_code == 200
    client.post("/logout")
    world.login(client, "A-analyst")
    full = client.get(url)
    assert full.status_code == 200 and full.mimetype == "audio/wav"
    assert full.data[:4] == b"RIFF" and full.headers["Accept-Ranges"] == "bytes"
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.data == full.data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(full.data)}"
    assert client.get("/media/recording/999999.wav").status_code == 404


def test_recording_choice_defaults_to_latest_with_oldest_as_baseline(client, world, dash_app,
                                                                     clips):
    a1 = world.compressors["A"][0]
    world.login(client, "A-analyst")
    resp = call_callback(client, dash_app, "spectro-recording.options",
                         {"spectro-compressor.value": a1})
    assert output_of(resp, "spectro-recording", "value") == clips["new"]
    assert output_of(resp, "spectro-baseline", "value") == clips["old"]
    assert [o["value"] for o in output_of(resp, "spectro-recording", "options")] == [
        clips["new"], clips["mid"], clips["old"]]
    chosen = call_callback(client, dash_app, "spectro-recording.options",
                           {"spectro-compressor.value": a1,
                            "spectro-query.data": {"recording": str(clips["mid"])}})
    assert output_of(chosen, "spectro-recording", "value") == clips["mid"]
    foreign = call_callback(client, dash_app, "spectro-recording.options",
                            {"spectro-compressor.value": world.compressors["B"][0]})
    assert output_of(foreign, "spectro-recording", "options") == []


def test_recording_view_marks_the_motor_line_and_its_harmonics(client, world, dash_app, clips):
    world.login(client, "A-analyst")
    resp = call_callback(client, dash_app, "spectro-spectrogram.figure",
                         {"spectro-recording.value": clips["new"],
                          "spectro-baseline.value": clips["old"]})
    summary = output_of(resp, "spectro-summary", "children")
    assert "bearing" in text_of(summary)
    assert "60.0 Hz" in text_of(summary)  # from the diagnosis' features
    assert f"/media/recording/{clips['new']}.wav" in str(summary)
    spectrum = output_of(resp, "spectro-spectrum", "figure")
    assert len(spectrum["data"]) == 2  # this clip and the baseline
    lines = [s["x0"] for s in spectrum["layout"]["shapes"]]
    assert lines[:3] == pytest.approx([60.0, 120.0, 180.0])
    assert output_of(resp, "spectro-spectrogram", "figure")["data"][0]["type"] == "heatmap"
    # Without a diagnosis the strongest line is found in the spectrum itself.
    mid = call_callback(client, dash_app, "spectro-spectrogram.figure",
                        {"spectro-recording.value": clips["mid"]})
    first = output_of(mid, "spectro-spectrum", "figure")["layout"]["shapes"][0]["x0"]
    assert first == pytest.approx(50.0, abs=2.0)


def test_a_recording_of_another_organisation_is_not_found(client, world, dash_app, clips):
    world.login(client, "B-analyst")
    resp = call_callback(client, dash_app, "spectro-spectrogram.figure",
                         {"spectro-recording.value": clips["new"]})
    assert output_of(resp, "spectro-message", "is_open") is True
    assert "찾을 수 없습니다" in output_of(resp, "spectro-message", "children")
    assert output_of(resp, "spectro-summary", "children") == []


def test_waterfall_stacks_the_last_recordings(client, world, dash_app, clips):
    world.login(client, "A-analyst")
    resp = call_callback(client, dash_app, "spectro-waterfall.figure",
                         {"spectro-compressor.value": world.compressors["A"][0],
                          "spectro-waterfall-n.value": 6})
    fig = output_of(resp, "spectro-waterfall", "figure")
    assert len(fig["data"]) == 3


def _upload(client, dash_app, data: bytes, name="clip.wav"):
    contents = "data:audio/wav;base64," + base64.b64encode(data).decode()
    return call_callback(client, dash_app, "spectro-upload-result.children",
                         {"spectro-upload.contents": contents, "spectro-upload.filename": name})


def test_uploads_show_a_spectrogram_or_a_clear_message(client, world, dash_app):
    world.login(client, "A-analyst")
    bad = output_of(_upload(client, dash_app, b"not a wav at all"), "spectro-upload-result",
                    "children")
    assert "spectro-upload-error" in ids_in(bad)
    good = output_of(_upload(client, dash_app, wav_bytes(120.0)), "spectro-upload-result",
                     "children")
    assert {"spectro-upload-spectrogram", "spectro-upload-diagnosis"} <= ids_in(good)
    assert "clip.wav" in text_of(good)
    # No model is active in this database: the page says so instead of failing.
    assert "진단" in text_of(good)


def test_uploads_are_diagnosed_by_the_active_model(client, world, dash_app, demo_model_file):
    install_model(dash_app.server, demo_model_file)
    world.login(client, "A-analyst")
    good = output_of(_upload(client, dash_app, wav_bytes(50.0, seconds=5.0)),
                     "spectro-upload-result", "children")
    diagnosis = next(c for c in good if c.get("props", {}).get("id") == "spectro-upload-diagnosis")
    assert diagnosis["type"] == "Div"  # a verdict, not an alert
    assert "신뢰도" in text_of(diagnosis)
