"""Spectrograms (analysts and up): a recording's mel spectrogram, waveform and
spectrum with the motor frequency's harmonics, a baseline beside it, a waterfall
of recent spectra, the clip itself, and a drop box for any WAV file or a recording
made in the browser."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.accounts.auth import page_guard
from dashboard.core.i18n import N_, _
from dashboard.ui.figures.base import graph

dash.register_page(
    __name__, path="/spectrograms", name="Spectrograms", title="Spectrograms · SignalCraft",
    nav_order=20, nav_label=N_("Spectrograms"), nav_icon="fa-solid fa-wave-square",
    min_role="analyst",
)

# Browsers send the file inside the callback request (base64, a third larger),
# which the server caps at 5 MB.
MAX_UPLOAD_BYTES = 3_500_000
# Length of a recording made in the browser (assets/recorder.js); 16 kHz mono WAV,
# about 256 KB.
RECORD_SECONDS = 8


def _graph(graph_id: str, height: int) -> dcc.Loading:
    return dcc.Loading(graph(graph_id, height), type="circle", delay_show=400)


def _panel(title: str, *children: object, panel_id: str | None = None) -> html.Div:
    extra = {"id": panel_id} if panel_id else {}
    return html.Div([html.Div(title, className="sc-panel-title"), *children],
                    className="sc-panel mb-3", **extra)


def _recorder() -> html.Div:
    """The record button; assets/recorder.js records, builds the WAV and hands it to
    the upload box. Its messages travel as data attributes, already translated."""
    messages = {
        "data-msg-asking": _("Allow the microphone when the browser asks…"),
        "data-msg-recording": _("Recording… {seconds} s left. Hold the phone close to the "
                                "compressor."),
        "data-msg-encoding": _("Preparing the recording…"),
        "data-msg-done": _("Recorded {seconds} s: the analysis appears below."),
        "data-msg-denied": _("Microphone access was denied. Allow the microphone for this "
                             "site in the browser's settings, then try again."),
        "data-msg-nomic": _("No microphone was found on this device."),
        "data-msg-unsupported": _("This browser cannot record here: it needs a current "
                                  "browser and a secure (https) connection."),
        "data-msg-failed": _("The recording failed: the microphone could not be started."),
    }
    return html.Div([
        html.Button(
            [html.I(className="fa-solid fa-microphone me-2"),
             _("Record %(seconds)s s", seconds=RECORD_SECONDS)],
            id="spectro-record", type="button", className="btn btn-danger sc-record-button",
            **{"data-seconds": str(RECORD_SECONDS)}, **messages,
        ),
        html.Div(_("Records from this device's microphone and analyses it like an "
                   "uploaded file."), className="small text-secondary mt-1"),
        html.Div(id="spectro-record-status", role="status", **{"aria-live": "polite"},
                 className="sc-record-status small mt-2"),
    ], className="mb-3")


@page_guard("analyst")
def layout(compressor: str | None = None, recording: str | None = None,
           **_kwargs: object) -> html.Div:
    controls = dbc.Row(
        [
            dbc.Col([dbc.Label(_("Compressor"), html_for="spectro-compressor",
                               className="small mb-0"),
                     dcc.Dropdown(id="spectro-compressor", clearable=False)], xs=12, md=4),
            dbc.Col([dbc.Label(_("Recording"), html_for="spectro-recording",
                               className="small mb-0"),
                     dcc.Dropdown(id="spectro-recording", clearable=False)], xs=12, md=4),
            dbc.Col([dbc.Label(_("Compare with (baseline)"),
                               html_for="spectro-baseline", className="small mb-0"),
                     dcc.Dropdown(id="spectro-baseline", clearable=True,
                                  placeholder=_("No comparison"))], xs=12, md=4),
        ],
        className="g-2 mb-3",
    )
    upload = _panel(
        _("Analyse a WAV file"),
        _recorder(),
        dcc.Upload(
            html.Div([html.I(className="fa-solid fa-file-arrow-up me-2"),
                      _("Drop a WAV file here or click to choose one (up to 3.5 MB)")]),
            id="spectro-upload", className="sc-upload", accept=".wav,audio/wav,audio/x-wav",
            max_size=MAX_UPLOAD_BYTES, multiple=False,
        ),
        dcc.Loading(html.Div(id="spectro-upload-result", className="mt-3"), type="circle"),
    )
    return html.Div(
        [
            dcc.Store(id="spectro-query", data={"compressor": compressor, "recording": recording}),
            html.H1(_("Spectrograms"), className="h4 mb-3"),
            controls,
            dbc.Alert(id="spectro-message", is_open=False, color="warning", className="py-2"),
            html.Div(id="spectro-summary", className="mb-3"),
            dbc.Row(
                [dbc.Col(_panel(_("Mel spectrogram"),
                                _graph("spectro-spectrogram", 300)), xs=12, lg=6),
                 dbc.Col(_panel(_("Baseline recording"),
                                _graph("spectro-baseline-spectrogram", 300)),
                         xs=12, lg=6, id="spectro-baseline-col")],
                className="g-3",
            ),
            _panel(_("Spectrum and motor harmonics"),
                   _graph("spectro-spectrum", 300)),
            _panel(_("Waveform"), _graph("spectro-waveform", 200)),
            _panel(
                _("Waterfall: spectra of recent recordings"),
                dbc.RadioItems(
                    id="spectro-waterfall-n", value=12, inline=True, className="small mb-1",
                    options=[{"label": _("last %(n)s", n=n), "value": n}
                             for n in (6, 12, 24)],
                ),
                _graph("spectro-waterfall", 420),
            ),
            upload,
        ]
    )
