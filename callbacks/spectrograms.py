"""Callbacks of the spectrogram page (analysts and up). Recording ids come from a
dropdown or the URL, so each is looked up with the user's organisation first."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate
from flask import current_app
from flask_login import current_user

from callbacks.guard import guarded
from dashboard.accounts.rate_limits import retry_after
from dashboard.analysis.queue import UploadError, analyze_upload
from dashboard.core import wav
from dashboard.core.database import db_session
from dashboard.core.i18n import _
from dashboard.core.wav import WavError
from dashboard.fleet.overview import org_compressors
from dashboard.fleet.recordings import (
    ClipError,
    RecordingView,
    list_recordings,
    load_clip,
    owned_recording,
)
from dashboard.fleet.timeseries import owned_compressor
from dashboard.ui.context import user_zone_name
from dashboard.ui.figures.audio import (
    dominant_frequency,
    figure_spectrogram,
    figure_spectrum,
    figure_waterfall,
    figure_waveform,
    mel_spectrogram,
    spectrum,
)
from dashboard.ui.figures.base import (
    STATUS_BADGE,
    empty_figure,
    graph,
    local_text,
    score_status,
    status_label,
)

log = logging.getLogger(__name__)


def recording_option(rec: RecordingView, tz: str) -> dict[str, Any]:
    parts = [local_text(rec.ts, tz, "%Y-%m-%d %H:%M:%S")]
    if rec.label:
        parts.append(rec.label)
    if rec.health_score is not None:
        parts.append(f"{rec.health_score:.0f}")
    if rec.status != "done":
        parts.append(f"({rec.status})")
    return {"label": " · ".join(parts), "value": rec.id}


def compressor_choices(query: dict | None) -> tuple[list[dict], int | None]:
    session = db_session()
    rows = org_compressors(session, current_user.org_id)
    options = [{"label": f"{name} · {site}", "value": cid} for cid, name, site in rows]
    wanted = (query or {}).get("compressor")
    chosen = owned_compressor(session, current_user.org_id, wanted) if wanted else None
    value = chosen.id if chosen is not None else (rows[0][0] if rows else None)
    return options, value


def recording_choices(compressor_id: Any, query: dict | None) -> tuple[list, Any, list, Any]:
    """Recording options (newest first, the URL's or the newest chosen) and baseline
    options (the oldest recording chosen: the compressor's normal)."""
    session = db_session()
    compressor = owned_compressor(session, current_user.org_id, compressor_id)
    if compressor is None:
        return [], None, [], None
    tz = user_zone_name()
    recent = list_recordings(session, current_user.org_id, compressor.id, limit=100)
    if not recent:
        return [], None, [], None
    options = [recording_option(r, tz) for r in recent]
    wanted = owned_recording(session, current_user.org_id, (query or {}).get("recording"))
    value = wanted.id if wanted is not None and wanted.compressor_id == compressor.id \
        else recent[0].id
    if wanted is not None and wanted.compressor_id == compressor.id and wanted.id not in {
            r.id for r in recent}:
        options.insert(0, recording_option(wanted, tz))
    oldest = list_recordings(session, current_user.org_id, compressor.id, limit=1,
                             oldest_first=True)
    baseline_options = list(options)
    if oldest and oldest[0].id not in {o["value"] for o in options}:
        baseline_options.append(recording_option(oldest[0], tz))
    baseline = oldest[0].id if oldest and oldest[0].id != value else None
    return options, value, baseline_options, baseline


def summary_card(rec: RecordingView, f0: float | None, f0_source: str) -> html.Div:
    tz = user_zone_name()
    if rec.label is not None:
        status = score_status(rec.health_score)
        verdict = [html.Span(rec.label, className="fs-5 fw-semibold me-2", id="spectro-label"),
                   dbc.Badge(f"{status_label(status)} · {rec.health_score:.0f}",
                             color=STATUS_BADGE[status]),
                   html.Small(_(" confidence %(confidence)s",
                                confidence=format(rec.confidence, ".0%")),
                              className="text-secondary")]
    else:
        verdict = [html.Span(_("Not diagnosed yet"),
                             className="text-secondary", id="spectro-label")]
    facts = [
        html.Div(verdict, className="mb-1"),
        html.Small(f"{local_text(rec.ts, tz, '%Y-%m-%d %H:%M:%S')} · {rec.sample_rate} Hz · "
                   f"{rec.duration_s:.1f} s", className="text-secondary d-block"),
        html.Small(_("Motor line f0 = %(f0)s Hz (%(f0_source)s)", f0=format(f0, ".1f"),
                                                   f0_source=f0_source) if f0 else
                   _("No clear motor line found."),
                   className="text-secondary d-block", id="spectro-f0"),
    ]
    player = html.Audio(src=f"/media/recording/{rec.id}.wav", controls=True, preload="none",
                        id="spectro-audio", className="sc-audio")
    row = dbc.Row([dbc.Col(facts, xs=12, md=7),
                   dbc.Col(player, xs=12, md=5, className="d-flex align-items-center")],
                  className="g-2")
    return html.Div(row, className="sc-panel")


def recording_view(recording_id: Any, baseline_id: Any) -> tuple:
    """Summary, message, spectrogram, baseline spectrogram, spectrum, waveform."""
    session = db_session()
    blank = empty_figure(_("No recording to show: choose one above (this compressor may have none "
                           "yet)."))
    rec = owned_recording(session, current_user.org_id, recording_id)
    if rec is None:
        message = _("Recording not found.") if recording_id else ""
        return [], message, bool(message), blank, blank, blank, blank
    app = current_app._get_current_object()
    try:
        y, sr = load_clip(app, rec)
    except ClipError as exc:
        return summary_card(rec, None, ""), str(exc), True, blank, blank, blank, blank
    spec = spectrum(y, sr)
    f0, source = rec.dominant_hz, _("from the diagnosis")
    if f0 is None:
        f0, source = dominant_frequency(spec), _("strongest line")
    base = owned_recording(session, current_user.org_id, baseline_id) if baseline_id else None
    base_spec, message = None, ""
    base_fig = empty_figure(_("No baseline chosen."))
    if base is not None:
        try:
            by, bsr = load_clip(app, base)
            base_spec = spectrum(by, bsr)
            base_fig = figure_spectrogram(mel_spectrogram(by, bsr),
                                          local_text(base.ts, user_zone_name()))
        except ClipError as exc:
            message = str(exc)
    tz = user_zone_name()
    labels = (local_text(rec.ts, tz), local_text(base.ts, tz) if base else "")
    return (summary_card(rec, f0, source), message, bool(message),
            figure_spectrogram(mel_spectrogram(y, sr), local_text(rec.ts, tz)), base_fig,
            figure_spectrum(spec, f0, base_spec, labels), figure_waveform(y, sr))


def waterfall(compressor_id: Any, count: Any) -> Any:
    session = db_session()
    compressor = owned_compressor(session, current_user.org_id, compressor_id)
    if compressor is None:
        return empty_figure(_("Choose a compressor."))
    n = count if count in (6, 12, 24) else 12
    app = current_app._get_current_object()
    spectra = []
    for rec in list_recordings(session, current_user.org_id, compressor.id, limit=n):
        try:
            y, sr = load_clip(app, rec)
        except ClipError:
            continue  # a missing clip leaves a gap in the waterfall, not an error
        spectra.append((rec.ts, spectrum(y, sr)))
    return figure_waterfall(spectra, user_zone_name())


def upload_view(contents: str | None, filename: str | None) -> Any:
    if not contents or not isinstance(contents, str):
        raise PreventUpdate
    # The same per-user count as POST /api/analyze: one act, one limit.
    if retry_after("ANALYZE_RATE_LIMIT", "user", str(current_user.get_id())) is not None:
        return dbc.Alert(_("Too many uploads. Wait a minute and try again."),
                         color="warning", id="spectro-upload-error")
    try:
        _header, encoded = contents.split(",", 1)
        if len(encoded) > (wav.MAX_BYTES + 2) // 3 * 4 + 4:  # before decoding anything
            raise WavError(413, "payload_too_large",
                           "Audio files are limited to %(limit)s bytes.", limit=wav.MAX_BYTES)
        data = base64.b64decode(encoded, validate=True)
        y, sr = wav.decode(data)  # the device path's limits, checked from the header
    except (ValueError, binascii.Error) as exc:
        message = (exc.localized() if isinstance(exc, WavError)
                   else _("This is not a readable WAV file."))
        return dbc.Alert(message, color="warning", id="spectro-upload-error")
    spec = spectrum(y, sr)
    f0 = dominant_frequency(spec)
    parts: list = [
        html.Div(f"{filename or 'upload.wav'} · {sr} Hz · {len(y) / sr:.1f} s",
                 className="small text-secondary mb-2", id="spectro-upload-name"),
        dbc.Row([
            dbc.Col(graph("spectro-upload-spectrogram", 300,
                          figure_spectrogram(mel_spectrogram(y, sr))), xs=12, lg=6),
            dbc.Col(graph("spectro-upload-spectrum", 300, figure_spectrum(spec, f0)), xs=12, lg=6),
        ], className="g-2"),
    ]
    try:
        result = analyze_upload(current_app._get_current_object(), data)
    except UploadError as exc:  # e.g. no active model yet: say so
        parts.insert(0, dbc.Alert(_("No diagnosis: %(exc)s", exc=exc),
                                  color="light", className="py-2", id="spectro-upload-diagnosis"))
        return parts
    except Exception:
        log.exception("analysis of an uploaded file failed")
        parts.insert(0, dbc.Alert(_("The diagnosis of this file failed."), color="warning",
                                  id="spectro-upload-diagnosis"))
        return parts
    status = str(result.get("status") or score_status(result.get("health_score")))
    score = result.get("health_score")
    parts.insert(0, html.Div([
        html.Span(str(result.get("label", "?")), className="fs-5 fw-semibold me-2"),
        dbc.Badge(status_label(status) + (f" · {float(score):.0f}" if score is not None else ""),
                  color=STATUS_BADGE.get(status, "secondary")),
        html.Small(" " + _("confidence %(confidence)s",
                             confidence=format(float(result.get('confidence') or 0), ".0%")),
                   className="text-secondary"),
        html.P(str(result.get("recommended_action") or ""), className="small mb-0 mt-1"),
    ], className="sc-panel mb-2", id="spectro-upload-diagnosis"))
    return parts


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("spectro-compressor", "options"),
        Output("spectro-compressor", "value"),
        Input("spectro-query", "data"),
    )
    @guarded("analyst")
    def load_compressors(query: dict | None) -> tuple:
        return compressor_choices(query)

    @app.callback(
        Output("spectro-recording", "options"),
        Output("spectro-recording", "value"),
        Output("spectro-baseline", "options"),
        Output("spectro-baseline", "value"),
        Input("spectro-compressor", "value"),
        State("spectro-query", "data"),
    )
    @guarded("analyst")
    def load_recordings(compressor_id: Any, query: dict | None) -> tuple:
        return recording_choices(compressor_id, query)

    @app.callback(
        Output("spectro-summary", "children"),
        Output("spectro-message", "children"),
        Output("spectro-message", "is_open"),
        Output("spectro-spectrogram", "figure"),
        Output("spectro-baseline-spectrogram", "figure"),
        Output("spectro-spectrum", "figure"),
        Output("spectro-waveform", "figure"),
        Input("spectro-recording", "value"),
        Input("spectro-baseline", "value"),
    )
    @guarded("analyst")
    def show_recording(recording_id: Any, baseline_id: Any) -> tuple:
        return recording_view(recording_id, baseline_id)

    @app.callback(
        Output("spectro-waterfall", "figure"),
        Input("spectro-compressor", "value"),
        Input("spectro-waterfall-n", "value"),
    )
    @guarded("analyst")
    def show_waterfall(compressor_id: Any, count: Any) -> Any:
        return waterfall(compressor_id, count)

    @app.callback(
        Output("spectro-upload-result", "children"),
        Input("spectro-upload", "contents"),
        State("spectro-upload", "filename"),
        prevent_initial_call=True,
    )
    @guarded("analyst")
    def analyse_upload(contents: str | None, filename: str | None) -> Any:
        return upload_view(contents, filename)
