"""Spectrograms (analysts and up): a recording's mel spectrogram, waveform and
spectrum with the motor frequency's harmonics, a baseline beside it, a waterfall
of recent spectra, the clip itself, and a drop box for any WAV file."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.accounts.auth import page_guard
from dashboard.core.i18n import tr
from dashboard.ui.figures.base import graph

dash.register_page(
    __name__, path="/spectrograms", name="Spectrograms", title="Spectrograms · SignalCraft",
    nav_order=20, nav_label=("Spectrograms", "스펙트로그램"), nav_icon="fa-solid fa-wave-square",
    min_role="analyst",
)

# Browsers send the file inside the callback request (base64, a third larger),
# which the server caps at 5 MB.
MAX_UPLOAD_BYTES = 3_500_000


def _graph(graph_id: str, height: int) -> dcc.Loading:
    return dcc.Loading(graph(graph_id, height), type="circle", delay_show=400)


def _panel(title: str, *children: object, panel_id: str | None = None) -> html.Div:
    extra = {"id": panel_id} if panel_id else {}
    return html.Div([html.Div(title, className="sc-panel-title"), *children],
                    className="sc-panel mb-3", **extra)


@page_guard("analyst")
def layout(compressor: str | None = None, recording: str | None = None,
           **_kwargs: object) -> html.Div:
    controls = dbc.Row(
        [
            dbc.Col([dbc.Label(tr("Compressor", "압축기"), html_for="spectro-compressor",
                               className="small mb-0"),
                     dcc.Dropdown(id="spectro-compressor", clearable=False)], xs=12, md=4),
            dbc.Col([dbc.Label(tr("Recording", "녹음"), html_for="spectro-recording",
                               className="small mb-0"),
                     dcc.Dropdown(id="spectro-recording", clearable=False)], xs=12, md=4),
            dbc.Col([dbc.Label(tr("Compare with (baseline)", "비교 대상 (기준)"),
                               html_for="spectro-baseline", className="small mb-0"),
                     dcc.Dropdown(id="spectro-baseline", clearable=True,
                                  placeholder=tr("No comparison", "비교 안 함"))], xs=12, md=4),
        ],
        className="g-2 mb-3",
    )
    upload = _panel(
        tr("Analyse a WAV file", "WAV 파일 분석"),
        dcc.Upload(
            html.Div([html.I(className="fa-solid fa-file-arrow-up me-2"),
                      tr("Drop a WAV file here or click to choose one (up to 3.5 MB)",
                         "WAV 파일을 여기에 끌어 놓거나 클릭해서 선택하세요 (최대 3.5 MB)")]),
            id="spectro-upload", className="sc-upload", accept=".wav,audio/wav,audio/x-wav",
            max_size=MAX_UPLOAD_BYTES, multiple=False,
        ),
        dcc.Loading(html.Div(id="spectro-upload-result", className="mt-3"), type="circle"),
    )
    return html.Div(
        [
            dcc.Store(id="spectro-query", data={"compressor": compressor, "recording": recording}),
            html.H1(tr("Spectrograms", "스펙트로그램"), className="h4 mb-3"),
            controls,
            dbc.Alert(id="spectro-message", is_open=False, color="warning", className="py-2"),
            html.Div(id="spectro-summary", className="mb-3"),
            dbc.Row(
                [dbc.Col(_panel(tr("Mel spectrogram", "멜 스펙트로그램"),
                                _graph("spectro-spectrogram", 300)), xs=12, lg=6),
                 dbc.Col(_panel(tr("Baseline", "기준 녹음"),
                                _graph("spectro-baseline-spectrogram", 300)),
                         xs=12, lg=6, id="spectro-baseline-col")],
                className="g-3",
            ),
            _panel(tr("Spectrum and motor harmonics", "스펙트럼과 모터 고조파"),
                   _graph("spectro-spectrum", 300)),
            _panel(tr("Waveform", "파형"), _graph("spectro-waveform", 200)),
            _panel(
                tr("Waterfall: spectra of recent recordings", "워터폴: 최근 녹음의 스펙트럼"),
                dbc.RadioItems(
                    id="spectro-waterfall-n", value=12, inline=True, className="small mb-1",
                    options=[{"label": tr(f"last {n}", f"최근 {n}개"), "value": n}
                             for n in (6, 12, 24)],
                ),
                _graph("spectro-waterfall", 420),
            ),
            upload,
        ]
    )
