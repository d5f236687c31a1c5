"""Anomaly scores of feature rows against healthy rows, one scorer per evidence family.

Every scorer is fitted on a machine's healthy feature rows (full
``FEATURE_NAMES`` vectors) and returns one non-negative number per row (higher
= less like the healthy rows), and, for ``explain``, the feature that
contributed most. ``ml.baseline`` calibrates and combines them.

``subspace``
    Robust scaling (median / IQR) of the broadband features (MFCC, log-mel,
    spectral shape, zero-crossings, RMS, waveform, harmonic and envelope
    families), PCA keeping 90 % of the variance (at most n/3 components),
    Hotelling T^2 with eigenvalues shrunk by their mean, plus the residual
    energy over its baseline mean; the average of the two. This is the
    single-model score of ``features-1`` and sees broad changes of spectrum
    and level (bearing resonances, leak hiss, squeal).
``deviation``
    Robust z-score of every non-line feature (``(x - median) / scale``; the
    scale is the IQR / 1.349, at least a third of the standard deviation and at
    least a per-kind floor so a feature that happens to be constant in the
    baseline does not explode); the score is the square of the mean of the
    ``TOP_K`` largest |z|. A single strongly deviating feature is not diluted
    by 200 that did not move.
``impulse``
    The same, one-sided (only growth counts), on the impulsiveness features
    (``ml.impulse``) without the impact rate's location (``period_hz``).
``lines``
    Against the baseline's own line spectrum: per grid cell the baseline's
    ``LINE_REFERENCE_QUANTILE`` quantile of the line prominence, widened to the
    maximum over +-``LINE_TOLERANCE_CELLS`` neighbouring cells (a motor line
    wanders with load); excess = (prominence - reference) / scale, scale the
    cell's robust spread (at least ``LINE_SCALE_FLOOR_DB``); the score is the
    square of the mean of the ``TOP_K`` largest positive excesses (a hum brings
    several harmonics).
``logmel_mahalanobis``
    The plain reference method: log-mel band means, robust scaling,
    Ledoit-Wolf covariance, squared Mahalanobis distance / number of bands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.covariance import LedoitWolf

from ml.features import FEATURE_NAMES, N_MELS, family_columns
from ml.line_grid import LINE_CENTRES

TOP_K = 3
LINE_REFERENCE_QUANTILE = 0.9
LINE_TOLERANCE_CELLS = 2
LINE_TOLERANCE_RELATIVE = 0.02  # a motor line moves with load by 1-2 %
LINE_SCALE_FLOOR_DB = 2.0
KNOWN_LINE_DB = 10.0  # median prominence of the baseline's own lines
Z_CLIP = 50.0

SUBSPACE_FAMILIES = ("mfcc", "logmel", "spectral", "zcr", "rms", "waveform", "harmonic",
                     "envelope")
SUBSPACE_COLUMNS = family_columns(*SUBSPACE_FAMILIES)
# where a peak is, not how strong: jumps between unrelated values in healthy clips
LOCATION_FEATURES = ("dominant_hz", "env_peak_hz", "_period_hz", "_regularity")
DEVIATION_COLUMNS = np.asarray([i for i in family_columns(*SUBSPACE_FAMILIES, "impulse")
                                if not FEATURE_NAMES[i].endswith(LOCATION_FEATURES)])
IMPULSE_COLUMNS = np.asarray([i for i in family_columns("impulse")
                              if not FEATURE_NAMES[i].endswith(LOCATION_FEATURES)])
LINE_COLUMNS = family_columns("lines")
LOGMEL_MEAN_COLUMNS = np.asarray([FEATURE_NAMES.index(f"logmel{i:02d}_mean")
                                  for i in range(N_MELS)])


def _scale_floor(name: str) -> float:
    """Smallest robust scale of a feature: one unit of what a clip can resolve."""
    if name.endswith("_rate_hz"):
        return 0.5
    if name.endswith(("regularity", "periodicity")):
        return 0.05
    if name.endswith("kurtosis"):
        return 0.2
    if name.endswith("_db") or "_db_" in name or name.startswith(("logmel", "env_")):
        return 0.25
    return 1e-6


SCALE_FLOOR = np.asarray([_scale_floor(n) for n in FEATURE_NAMES])


def robust_center_scale(X: np.ndarray, floor: np.ndarray,
                        tails: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust scale of each column: IQR / 1.349, at least ``floor`` and, with
    ``tails``, at least the 5-95 % range / 3.29 (both equal the standard deviation of a
    normal distribution; the second keeps heavy-tailed features from dominating)."""
    center = np.median(X, axis=0)
    q95, q75, q25, q05 = np.percentile(X, [95, 75, 25, 5], axis=0)
    scale = np.maximum((q75 - q25) / 1.349, floor)
    if tails:
        scale = np.maximum(scale, (q95 - q05) / 3.29)
    return center, np.maximum(scale, 1e-9)


def _top_mean(values: np.ndarray, k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the k largest values per row, and the column of the largest."""
    k = min(k, values.shape[1])
    top = np.partition(values, values.shape[1] - k, axis=1)[:, -k:]
    return top.mean(axis=1), values.argmax(axis=1)


@dataclass
class FamilyScore:
    """Scores of rows by one family and, per row, the feature that deviates most."""

    scores: np.ndarray
    feature: np.ndarray  # column in FEATURE_NAMES
    value: np.ndarray  # that feature's z / excess


@dataclass
class SubspaceScorer:
    columns: np.ndarray = field(default_factory=lambda: SUBSPACE_COLUMNS)
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    mean: np.ndarray | None = None
    components: np.ndarray | None = None
    variances: np.ndarray | None = None
    residual_ref: float = 1.0

    def fit(self, X: np.ndarray) -> SubspaceScorer:
        A = X[:, self.columns]
        self.center, self.scale = robust_center_scale(A, np.full(A.shape[1], 1e-6))
        Z = self._z(A)
        self.mean = Z.mean(axis=0)
        _, s, vt = np.linalg.svd(Z - self.mean, full_matrices=False)
        var = s * s / max(len(Z) - 1, 1)
        ratio = np.cumsum(var) / max(var.sum(), 1e-12)
        n_comp = int(np.searchsorted(ratio, 0.90) + 1)
        n_comp = max(1, min(n_comp, max(1, len(Z) // 3)))
        self.components = vt[:n_comp]
        kept = np.maximum(var[:n_comp], 1e-9)
        self.variances = kept + kept.mean()  # shrinkage towards the mean eigenvalue
        centred = Z - self.mean
        resid = centred - (centred @ self.components.T) @ self.components
        self.residual_ref = max(float((resid * resid).sum(axis=1).mean()), 1e-9)
        return self

    def _z(self, A: np.ndarray) -> np.ndarray:
        return np.clip((A - self.center) / self.scale, -Z_CLIP, Z_CLIP)

    def score(self, X: np.ndarray) -> FamilyScore:
        Z = self._z(X[:, self.columns])
        centred = Z - self.mean
        proj = centred @ self.components.T
        t2 = (proj * proj / self.variances).sum(axis=1) / len(self.variances)
        resid = centred - proj @ self.components
        spe = (resid * resid).sum(axis=1) / self.residual_ref
        worst = np.abs(Z).argmax(axis=1)
        rows = np.arange(len(Z))
        return FamilyScore(0.5 * (t2 + spe), self.columns[worst], Z[rows, worst])


@dataclass
class DeviationScorer:
    """Top-k robust |z| (``two_sided``) or top-k positive z of ``columns``."""

    columns: np.ndarray
    two_sided: bool = True
    top_k: int = TOP_K
    center: np.ndarray | None = None
    scale: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> DeviationScorer:
        self.center, self.scale = robust_center_scale(X[:, self.columns],
                                                      SCALE_FLOOR[self.columns])
        return self

    def score(self, X: np.ndarray) -> FamilyScore:
        Z = np.clip((X[:, self.columns] - self.center) / self.scale, -Z_CLIP, Z_CLIP)
        dev = np.abs(Z) if self.two_sided else np.maximum(Z, 0.0)
        top, worst = _top_mean(dev, getattr(self, "top_k", TOP_K))
        rows = np.arange(len(Z))
        return FamilyScore(top * top, self.columns[worst], Z[rows, worst])


@dataclass
class LineScorer:
    """New or grown lines against the baseline's line spectrum (module docstring)."""

    columns: np.ndarray = field(default_factory=lambda: LINE_COLUMNS)
    grown_only: bool = False
    top_k: int = 1
    reference: np.ndarray | None = None
    scale: np.ndarray | None = None
    known: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> LineScorer:
        L = X[:, self.columns]
        center = np.median(L, axis=0)
        # only growth counts, so the spread that matters is the upper one
        upper = (np.quantile(L, 0.9, axis=0) - center) / 1.2816
        self.scale = np.maximum(upper, LINE_SCALE_FLOOR_DB)
        if self.grown_only:
            # the baseline's own lines: a line that grows is compared with its median level
            self.known = np.flatnonzero(center >= KNOWN_LINE_DB)
            if len(self.known) == 0:
                self.known = np.array([int(np.argmax(center))])
            self.reference = center
        else:
            self.reference = widen(np.quantile(L, LINE_REFERENCE_QUANTILE, axis=0))
        return self

    def score(self, X: np.ndarray) -> FamilyScore:
        excess = np.maximum(X[:, self.columns] - self.reference, 0.0) / self.scale
        if self.grown_only:
            masked = np.zeros_like(excess)
            masked[:, self.known] = excess[:, self.known]
            excess = masked
        top, worst = _top_mean(excess, self.top_k)
        rows = np.arange(len(excess))
        return FamilyScore(top * top, self.columns[worst], excess[rows, worst])


def _tolerance_windows() -> tuple[np.ndarray, np.ndarray]:
    from ml.line_grid import LINE_CELLS

    lo = LINE_CENTRES * (1 - LINE_TOLERANCE_RELATIVE)
    hi = LINE_CENTRES * (1 + LINE_TOLERANCE_RELATIVE)
    first = np.searchsorted(LINE_CELLS[:, 1], lo, side="right")
    last = np.searchsorted(LINE_CELLS[:, 0], hi, side="left") - 1
    idx = np.arange(len(LINE_CENTRES))
    first = np.minimum(first, idx - LINE_TOLERANCE_CELLS).clip(0)
    last = np.maximum(last, idx + LINE_TOLERANCE_CELLS).clip(max=len(idx) - 1)
    return first, last


_WINDOW_FIRST, _WINDOW_LAST = _tolerance_windows()


def widen(reference: np.ndarray) -> np.ndarray:
    """Maximum of each cell's reference over its tolerance window (+-1 %, >= +-2 cells)."""
    out = np.empty_like(reference)
    for i, (a, b) in enumerate(zip(_WINDOW_FIRST, _WINDOW_LAST, strict=True)):
        out[i] = reference[a:b + 1].max()
    return out


MAINS_HZ = (50.0, 60.0)
MAINS_HARMONICS = 12
MAINS_TOP = 4


def _mains_cells() -> np.ndarray:
    """(len(MAINS_HZ), MAINS_HARMONICS) grid cells of k x 50 Hz and k x 60 Hz."""
    from ml.line_grid import LINE_CELLS

    out = np.zeros((len(MAINS_HZ), MAINS_HARMONICS), dtype=int)
    for i, f0 in enumerate(MAINS_HZ):
        for k in range(1, MAINS_HARMONICS + 1):
            f = k * f0
            out[i, k - 1] = int(np.clip(np.searchsorted(LINE_CELLS[:, 1], f, side="right"), 0,
                                        len(LINE_CELLS) - 1))
    return out


MAINS_CELLS = _mains_cells()


@dataclass
class MainsScorer:
    """Lines at the mains harmonics k x 50 Hz and k x 60 Hz (k = 1..12), as one comb.

    Per comb, the mean of the ``MAINS_TOP`` largest excesses of its harmonics over
    the baseline (90 % quantile of each cell, widened by one cell only: the mains
    frequency is steady), in units of the cell's upper spread; the score is the
    square of the larger comb's value. A hum brings several harmonics at once, so
    the comb finds one that no single cell would.
    """

    columns: np.ndarray = field(default_factory=lambda: LINE_COLUMNS)
    reference: np.ndarray | None = None
    scale: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> MainsScorer:
        L = X[:, self.columns][:, MAINS_CELLS.ravel()]
        ref = np.quantile(X[:, self.columns], LINE_REFERENCE_QUANTILE, axis=0)
        near = np.maximum(ref, np.maximum(np.r_[ref[1:], ref[-1]], np.r_[ref[0], ref[:-1]]))
        self.reference = near[MAINS_CELLS.ravel()]
        center = np.median(L, axis=0)
        self.scale = np.maximum((np.quantile(L, 0.9, axis=0) - center) / 1.2816,
                                LINE_SCALE_FLOOR_DB)
        return self

    def score(self, X: np.ndarray) -> FamilyScore:
        cells = MAINS_CELLS.ravel()
        excess = np.maximum(X[:, self.columns][:, cells] - self.reference, 0.0) / self.scale
        combs = excess.reshape(len(X), len(MAINS_HZ), MAINS_HARMONICS)
        k = min(MAINS_TOP, MAINS_HARMONICS)
        top = np.sort(combs, axis=2)[:, :, -k:].mean(axis=2)
        best = top.argmax(axis=1)
        rows = np.arange(len(X))
        strongest = combs[rows, best].argmax(axis=1)
        flat = best * MAINS_HARMONICS + strongest
        value = top[rows, best]
        return FamilyScore(value * value, self.columns[cells[flat]], excess[rows, flat])


HUM_MARGIN = 0.5
MAINS_WINDOW_RELATIVE = 0.004  # the mains frequency is within +-0.2 Hz of nominal (0.4 %)


def _mains_windows() -> list[np.ndarray]:
    """Grid cells within +-0.4 % (at least the cell and its neighbours) of every
    k x 50 Hz and k x 60 Hz, k = 1..12, in ``MAINS_CELLS`` order."""
    from ml.line_grid import LINE_CELLS

    out = []
    for i, f0 in enumerate(MAINS_HZ):
        for k in range(1, MAINS_HARMONICS + 1):
            f, c = k * f0, int(MAINS_CELLS[i, k - 1])
            near = np.flatnonzero((LINE_CELLS[:, 1] > f * (1 - MAINS_WINDOW_RELATIVE))
                                  & (LINE_CELLS[:, 0] < f * (1 + MAINS_WINDOW_RELATIVE)))
            out.append(np.union1d(near, np.arange(max(c - 1, 0), min(c + 2, len(LINE_CELLS)))))
    return out


MAINS_WINDOWS = _mains_windows()
_MAINS_WINDOW_CELLS = np.unique(np.concatenate(MAINS_WINDOWS))


@dataclass
class HumScorer:
    """The single strongest new or grown line at a mains harmonic (family ``hum``).

    Narrow-band SNR against the baseline's own lines: per grid cell near k x 50 Hz and
    k x 60 Hz (k = 1..12; +-0.4 %, at least +-1 cell, since the mains frequency is
    steady but not exact) the excess of the line prominence over that cell's own 90 %
    quantile (not widened: a hum at 120 Hz next to a motor line at 119 Hz still counts),
    in units of the cell's upper spread; the score is the square of the largest excess.
    ``mains`` averages a comb's 4 strongest harmonics, which dilutes a hum whose
    harmonics fall on lines the machine already has (a 60 Hz machine's 240 Hz line);
    this family does not. Only the 24 harmonic windows are searched, so a healthy
    clip's largest excess stays small (unlike ``lines``, which searches 1,380 cells).
    """

    columns: np.ndarray = field(default_factory=lambda: LINE_COLUMNS[_MAINS_WINDOW_CELLS])
    reference: np.ndarray | None = None
    scale: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> HumScorer:
        L = X[:, self.columns]
        q90 = np.quantile(L, LINE_REFERENCE_QUANTILE, axis=0)
        upper = (q90 - np.median(L, axis=0)) / 1.2816
        self.reference = q90 + HUM_MARGIN * np.maximum(upper, LINE_SCALE_FLOOR_DB)
        # a cell's spread from a few dozen clips is noisy: at least the typical one
        self.scale = np.maximum(upper, max(float(np.median(upper)), LINE_SCALE_FLOOR_DB))
        return self

    def score(self, X: np.ndarray) -> FamilyScore:
        excess = np.maximum(X[:, self.columns] - self.reference, 0.0) / self.scale
        worst = excess.argmax(axis=1)
        value = excess[np.arange(len(X)), worst]
        return FamilyScore(value * value, self.columns[worst], value)


@dataclass
class LogmelMahalanobisScorer:
    """Plain reference: log-mel means, robust scaling, Ledoit-Wolf Mahalanobis."""

    columns: np.ndarray = field(default_factory=lambda: LOGMEL_MEAN_COLUMNS)
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    precision: np.ndarray | None = None
    mean: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> LogmelMahalanobisScorer:
        A = X[:, self.columns]
        self.center, self.scale = robust_center_scale(A, np.full(A.shape[1], 1e-6))
        Z = (A - self.center) / self.scale
        lw = LedoitWolf().fit(Z)
        self.mean, self.precision = lw.location_, lw.precision_
        return self

    def score(self, X: np.ndarray, level_free: bool = False) -> FamilyScore:
        """``level_free``: the distance to the nearest *level-shifted* baseline (the same
        dB offset added to every band, chosen to minimise the distance): the spectral
        shape alone, blind to gain, load or duty-cycle level (``ml.drift``)."""
        Z = (X[:, self.columns] - self.center) / self.scale - self.mean
        if level_free:
            u = 1.0 / self.scale  # one dB more in every band, in robust-z units
            pu = self.precision @ u
            Z = Z - np.outer(Z @ pu / float(u @ pu), u)
        d2 = np.einsum("ij,jk,ik->i", Z, self.precision, Z) / len(self.columns)
        worst = np.abs(Z).argmax(axis=1)
        rows = np.arange(len(Z))
        return FamilyScore(d2, self.columns[worst], Z[rows, worst])


def line_frequency(column: int) -> float | None:
    """Centre frequency (Hz) of a line-grid feature column, else None."""
    pos = np.flatnonzero(LINE_COLUMNS == column)
    return float(LINE_CENTRES[pos[0]]) if len(pos) else None
