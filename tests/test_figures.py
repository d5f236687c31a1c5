"""Figure-building functions, without a browser or a database: what they draw is
checked on the figure objects themselves."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashboard.fleet.recordings import ClipError, decode_wav
from dashboard.fleet.timeseries import METRIC_COLUMNS, RangeError, resolve_range
from dashboard.ui.figures.audio import (
    dominant_frequency,
    figure_spectrogram,
    figure_spectrum,
    figure_waterfall,
    figure_waveform,
    harmonic_frequencies,
    mel_spectrogram,
    spectrum,
    waveform_envelope,
)
from dashboard.ui.figures.base import local_ms, score_status
from dashboard.ui.figures.compressor import figure_health_timeline, figure_sensors
from dashboard.ui.figures.fleet import sparkline_points, sparkline_svg, svg_data_uri
from dashboard.ui.figures.history import figure_health_trend
from tests.factories import wav_bytes

SR = 16000
T0 = pd.Timestamp("2024-05-01T00:00:00Z")


def tone(freq: float, seconds: float = 1.0, harmonics: int = 3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return sum(0.5 / k * np.sin(2 * np.pi * k * freq * t) for k in range(1, harmonics + 1))


def sensor_frame(n: int = 60, width_s: int = 60, spike_at: int | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"ts": T0 + pd.to_timedelta(np.arange(n) * width_s, unit="s"),
                          "n": 60})
    for col in METRIC_COLUMNS:
        frame[f"{col}_mean"] = 10.0
        frame[f"{col}_min"] = 9.0
        frame[f"{col}_max"] = 11.0
    if spike_at is not None:
        frame.loc[spike_at, "current_a_max"] = 99.0
    return frame


def test_sparkline_scales_scores_bridges_gaps_and_colours_by_the_latest_level():
    segments = sparkline_points([100, None, 0], width=100, height=30)
    assert segments == [[(0, 2.0), (100, 28.0)]]  # 100 at the top, 0 at the bottom
    assert sparkline_points([50, None, 50], 100, 30, connect_gaps=False) == [
        [(0, 15.0)], [(100, 15.0)]]
    assert "#dc3545" in sparkline_svg([90, 80, 10])  # ends critical: red
    assert "#198754" in sparkline_svg([10, 80, 90])  # ends healthy: green
    assert "polyline" not in sparkline_svg([None, None])
    assert svg_data_uri("<svg a='#1'/>").endswith("%3Csvg a='%231'/%3E")


def test_sensor_figure_draws_a_band_from_min_to_max_around_the_mean():
    fig = figure_sensors(sensor_frame(spike_at=30), 60, tz="Asia/Seoul")
    assert len(fig.data) == 3 * len(METRIC_COLUMNS)  # max edge, min edge (filled), mean
    current_max = fig.data[3]
    assert float(np.nanmax(current_max.y)) == pytest.approx(99.0)  # the spike is drawn
    assert fig.data[4].fill == "tonexty"
    # Seoul wall-clock time on the axis: 09:00 for midnight UTC.
    assert fig.data[2].x[0] == local_ms([T0], "Asia/Seoul")[0]
    assert pd.Timestamp(fig.data[2].x[0], unit="ms").hour == 9


def test_sensor_figure_breaks_lines_at_outages_and_marks_notes():
    frame = sensor_frame(10).drop(index=[4, 5]).reset_index(drop=True)
    note_time = (T0 + pd.Timedelta(minutes=3)).to_pydatetime()
    fig = figure_sensors(frame, 60, tz="UTC", notes=[(note_time, "Belt replaced")])
    assert len(fig.data[2].y) == 10 and np.isnan(fig.data[2].y[4])
    assert [a.hovertext for a in fig.layout.annotations if a.hovertext] == ["Belt replaced"]
    assert fig.layout.shapes[0].x0 == local_ms([note_time], "UTC")[0]


def test_sensor_figure_without_readings_says_so():
    fig = figure_sensors(sensor_frame(0), 60)
    assert "No sensor readings" in fig.layout.annotations[0].text or \
        "센서 데이터가 없습니다" in fig.layout.annotations[0].text


def test_health_timeline_colours_points_by_level_and_shows_bucket_minimum():
    frame = pd.DataFrame({"ts": [T0, T0 + pd.Timedelta(hours=1)], "health_score": [85.0, 15.0],
                          "health_min": [85.0, 15.0], "label": ["normal", "bearing"],
                          "status": ["healthy", "critical"], "n": [1, 1]})
    fig = figure_health_timeline(frame)
    assert list(fig.data[-1].marker.color) == ["#198754", "#dc3545"]
    assert len(fig.layout.shapes) == 4  # the four level bands
    bucketed = frame.assign(n=[5, 5], health_min=[70.0, 5.0])
    fig = figure_health_timeline(bucketed)
    assert len(fig.data) == 2 and list(fig.data[0].y) == [70.0, 5.0]


def test_score_levels_match_the_model_cut_offs():
    assert [score_status(s) for s in (95, 70, 69.9, 45, 44.9, 20, 19.9, None)] == [
        "healthy", "healthy", "watch", "watch", "warning", "warning", "critical", "learning"]


def test_spectrum_finds_the_motor_line_and_marks_its_harmonics():
    spec = spectrum(tone(50.0), SR)
    f0 = dominant_frequency(spec)
    assert f0 == pytest.approx(50.0, abs=1.0)
    assert harmonic_frequencies(50.0, 8000, 5) == [50.0, 100.0, 150.0, 200.0, 250.0]
    assert harmonic_frequencies(3000.0, 8000, 5) == [3000.0, 6000.0]
    fig = figure_spectrum(spec, f0, baseline=spectrum(tone(60.0), SR))
    assert len(fig.data) == 2 and fig.data[0].line.dash == "dot"  # baseline first, dashed
    assert [round(s.x0) for s in fig.layout.shapes] == [50, 100, 150, 200, 250]


def test_mel_spectrogram_puts_a_tone_in_the_right_band_within_budget():
    mel = mel_spectrogram(tone(1000.0, seconds=5.0, harmonics=1), SR, max_frames=100)
    assert mel.db.shape[0] == 64 and 50 <= mel.db.shape[1] <= 100
    loudest = mel.freqs[int(np.argmax(mel.db.mean(axis=1)))]
    assert 850 < loudest < 1200
    fig = figure_spectrogram(mel, "clip")
    assert fig.data[0].type == "heatmap" and fig.layout.yaxis.type == "log"


def test_waveform_envelope_keeps_every_peak():
    y = np.zeros(SR * 5, dtype="float32")
    y[12345] = 0.9
    y[54321] = -0.8
    t, lo, hi = waveform_envelope(y, SR, max_points=1000)
    assert len(t) <= 1000 and hi.max() == pytest.approx(0.9) and lo.min() == pytest.approx(-0.8)
    assert len(figure_waveform(y, SR).data) == 2


def test_waterfall_stacks_spectra_oldest_at_the_bottom():
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    spectra = [(now - dt.timedelta(hours=h), spectrum(tone(50.0 + h), SR)) for h in (1, 3, 2)]
    fig = figure_waterfall(spectra, "UTC", offset_db=10.0)
    assert [t.name for t in fig.data] == ["04-30 21:00", "04-30 22:00", "04-30 23:00"]
    lifts = [float(np.median(t.y)) for t in fig.data]
    assert lifts[0] < lifts[1] < lifts[2]
    assert "No recordings" in figure_waterfall([]).layout.annotations[0].text or \
        "비교할 녹음" in figure_waterfall([]).layout.annotations[0].text


def test_health_trend_draws_the_lowest_compressors_and_the_fleet_mean():
    day = dt.date(2024, 5, 1)
    rows = [(day + dt.timedelta(days=d), cid, f"C{cid}", 100.0 - cid * 5 - d, 10)
            for d in range(3) for cid in range(1, 11)]
    fig = figure_health_trend(rows, max_lines=3)
    names = [t.name for t in fig.data]
    assert names[1:] == ["C10", "C9", "C8"]  # lowest first
    assert "10" in names[0]  # the mean of all ten
    assert list(fig.data[0].y) == pytest.approx([72.5, 71.5, 70.5])


def test_decoding_refuses_garbage_and_reads_wav():
    with pytest.raises(ClipError):
        decode_wav(b"RIFF but not really")
    y, sr = decode_wav(wav_bytes(50.0, seconds=0.5, sample_rate=8000))
    assert sr == 8000 and len(y) == 4000 and y.dtype == np.float32


def test_time_ranges_resolve_presets_and_refuse_bad_custom_ranges():
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    assert resolve_range("7d", now=now).start == now - dt.timedelta(days=7)
    for args in (("bogus",), ("custom", None, now), ("custom", now, now),
                 ("custom", now - dt.timedelta(days=400), now)):
        with pytest.raises(RangeError):
            resolve_range(*args, now=now)


def test_the_sensor_chart_built_without_validation_is_what_plotly_validates():
    """figure_sensors skips plotly's validation (fast_figure, issue 14): the same dicts
    pass validation unchanged, and the axes are those make_subplots lays out."""
    import json

    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    note = ((T0 + pd.Timedelta(minutes=3)).to_pydatetime(), "Belt replaced")
    span = (T0.to_pydatetime(), (T0 + pd.Timedelta(hours=1)).to_pydatetime())
    fast = figure_sensors(sensor_frame(30), 60, tz="Asia/Seoul", notes=[note], x_range=span)
    validated = go.Figure(fast.to_dict())  # raises on any invalid property
    assert json.loads(fast.to_json()) == json.loads(validated.to_json())
    assert isinstance(fast.layout.template.layout.to_plotly_json(), dict)  # resolved, not a name
    rows = len(METRIC_COLUMNS)
    reference = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.04,
                              subplot_titles=[str(i) for i in range(rows)]).layout
    for row in range(1, rows + 1):
        suffix = "" if row == 1 else str(row)
        ours, theirs = fast.layout[f"yaxis{suffix}"], reference[f"yaxis{suffix}"]
        assert ours.domain == pytest.approx(theirs.domain) and ours.anchor == theirs.anchor
        assert fast.layout[f"xaxis{suffix}"].matches == reference[f"xaxis{suffix}"].matches
        assert fast.layout[f"xaxis{suffix}"].type == "date"
    titles = [a for a in fast.layout.annotations if not a.hovertext]
    assert [a.y for a in titles] == pytest.approx([a.y for a in reference.annotations])
    assert [t.xaxis for t in fast.data[::3]] == ["x"] + [f"x{r}" for r in range(2, rows + 1)]
