"""Narrow-band line levels on a fixed fine frequency grid (the ``lines`` features).

A weak hum or a new motor harmonic hardly changes any broadband feature, but
it is a clear peak in a fine spectrum: a line at -20 dB of the clip's power
stands about 20-25 dB above the per-bin background of a 2-5 s clip. The
baseline compares each cell of this grid against its own lines
(``ml.baseline``), so a *new* line or a *grown* one is found wherever it
appears: at mains harmonics (50/60 Hz x k), at the motor's harmonics, anywhere.

Grid (``LINE_CELLS``): 1 Hz cells from 20 Hz to 1 kHz and 5 Hz cells from
1 kHz to 3 kHz, 1,380 cells. The spectrum is the clip's full-length FFT with a
Hann window (applied in the frequency domain as the 3-tap kernel
[-1/4, 1/2, -1/4], so no second FFT is needed). A cell's value is its
*prominence*: the largest power of two adjacent bins (a Hann main lobe) in
the cell over twice the local background
(the median power of the surrounding ``BACKGROUND_HZ`` block, interpolated
between blocks), in dB. Prominence does not depend on gain or on the
operating state's overall level, only on how much a line stands out of the
noise around it. Cells narrower than a bin (short clips) repeat the bin's
value. Cells above 0.95 x Nyquist are 0 dB.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

LINE_SEGMENTS: tuple[tuple[float, float, float], ...] = ((20.0, 1000.0, 1.0),
                                                         (1000.0, 3000.0, 5.0))
"""(start Hz, end Hz, cell width Hz) of the grid's segments."""
BACKGROUND_HZ = (10.0, 50.0)  # background block width per segment
AMIN = 1e-30


def _cells() -> np.ndarray:
    rows = []
    for lo, hi, width in LINE_SEGMENTS:
        starts = np.arange(lo, hi, width)
        rows.append(np.column_stack([starts, starts + width]))
    return np.vstack(rows)


LINE_CELLS: np.ndarray = _cells()
"""(n_cells, 2) lower and upper edge of every cell in Hz."""
LINE_CENTRES: np.ndarray = LINE_CELLS.mean(axis=1)
N_LINES = len(LINE_CELLS)
PARAMS = (LINE_SEGMENTS, BACKGROUND_HZ, "hann-freq-domain")


def line_feature_names() -> list[str]:
    return [f"line_{lo:g}hz" for lo, _ in LINE_CELLS]


@lru_cache(maxsize=16)
def _layout(n: int, sr: int) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                            np.ndarray], ...]:
    """Per segment: cell start bins, valid-cell mask, background block edges, block centres
    (bins) and cell centres (bins) for a clip of ``n`` samples at ``sr``."""
    df = sr / n
    n_bins = n // 2 + 1
    limit = 0.95 * sr / 2
    out = []
    for (lo, hi, width), bg in zip(LINE_SEGMENTS, BACKGROUND_HZ, strict=True):
        starts_hz = np.arange(lo, hi, width)
        start_bins = np.minimum(np.round(starts_hz / df).astype(int), n_bins - 1)
        valid = starts_hz + width <= limit
        block = max(3, int(round(bg / df)))
        seg_lo = max(1, int(np.floor(max(lo - bg, 0.0) / df)))
        seg_hi = min(n_bins, int(np.ceil((hi + bg) / df)) + 1)
        edges = np.arange(seg_lo, seg_hi, block)
        centres = (edges[:-1] + edges[1:]) / 2.0 if len(edges) > 1 else edges.astype(float)
        cell_centres = (starts_hz + width / 2.0) / df
        out.append((start_bins, valid, edges, centres, cell_centres))
    return tuple(out)


def line_features(spectrum: np.ndarray, n: int, sr: int) -> np.ndarray:
    """Prominence (dB) of the strongest bin of every grid cell over its local background."""
    hann = 0.5 * spectrum
    hann[1:] -= 0.25 * spectrum[:-1]
    hann[:-1] -= 0.25 * spectrum[1:]
    power = hann.real * hann.real + hann.imag * hann.imag
    power = np.maximum(power, AMIN)
    pair = power.copy()  # a Hann main lobe spans two bins: sum of each bin and the next
    pair[:-1] += power[1:]
    out = []
    for start_bins, valid, edges, centres, cell_centres in _layout(n, sr):
        values = np.zeros(len(start_bins))
        if valid.any() and len(edges) > 1:
            peak = np.maximum.reduceat(pair, start_bins)
            # reduceat on the last start runs to the end of the array: bound it
            last_end = min(len(pair), start_bins[-1] + max(1, start_bins[-1] - start_bins[-2]))
            peak[-1] = pair[start_bins[-1]:last_end].max()
            block = int(edges[1] - edges[0])
            blocks = np.median(power[edges[0]:edges[-1]].reshape(-1, block), axis=1)
            background = np.exp(np.interp(cell_centres, centres, np.log(blocks)))
            values = 10.0 * np.log10(peak / (2.0 * background))
            values[~valid] = 0.0
        out.append(values)
    return np.concatenate(out)
