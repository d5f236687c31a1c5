"""The app icons of the installable app (PNG, in assets/icons/), drawn from the same
mark as assets/favicon.svg: a white pulse line on a blue rounded square. Regenerate
with ``flask --app wsgi pwa-icons``; numpy draws them, zlib writes the PNG."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

BLUE = (13, 110, 253)
# The favicon's pulse line in its 32x32 box: M3 16h5l3-8 4 16 4-12 3 6h7
LINE = [(3, 16), (8, 16), (11, 8), (15, 24), (19, 12), (22, 18), (29, 18)]
STROKE = 2.5

ICONS = {  # file name -> (size, kind)
    "icon-192.png": (192, "any"),
    "icon-512.png": (512, "any"),
    "icon-maskable-512.png": (512, "maskable"),
    "apple-touch-icon.png": (180, "apple"),
    "badge-96.png": (96, "badge"),
}


def _line_coverage(size: int, scale: float, offset: float) -> np.ndarray:
    """How much of each pixel the stroked polyline covers (0..1, antialiased)."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    points = [(offset + x * scale, offset + y * scale) for x, y in LINE]
    dist = np.full((size, size), np.inf)
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / (dx * dx + dy * dy), 0, 1)
        dist = np.minimum(dist, np.hypot(xs - (x0 + t * dx), ys - (y0 + t * dy)))
    half = STROKE * scale / 2
    return np.clip(half - dist + 0.5, 0, 1)


def _rounded_square(size: int, radius: float) -> np.ndarray:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    cx = np.clip(xs, radius, size - radius)
    cy = np.clip(ys, radius, size - radius)
    return np.clip(radius - np.hypot(xs - cx, ys - cy) + 0.5, 0, 1)


def render_icon(size: int, kind: str = "any") -> np.ndarray:
    """RGBA pixels (size x size x 4, uint8). "any": the rounded square with clear
    corners; "maskable" and "apple": full bleed, the mark inside the safe zone;
    "badge": the white line alone on transparent (Android's notification badge)."""
    if kind == "badge":
        alpha = _line_coverage(size, size / 32, 0)
        rgba = np.zeros((size, size, 4))
        rgba[..., :3] = 255
        rgba[..., 3] = alpha * 255
        return rgba.round().astype(np.uint8)
    if kind == "any":
        scale, offset = size / 32, 0.0
        shape = _rounded_square(size, 6 * size / 32)
    else:  # the mark in the middle 70 % (maskable safe zone is 80 %)
        scale, offset = size * 0.7 / 32, size * 0.15
        shape = np.ones((size, size))
    line = _line_coverage(size, scale, offset)
    rgba = np.zeros((size, size, 4))
    for channel, value in enumerate(BLUE):
        rgba[..., channel] = value * (1 - line) + 255 * line
    rgba[..., 3] = shape * 255
    return rgba.round().astype(np.uint8)


def png_bytes(rgba: np.ndarray) -> bytes:
    height, width, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[row].tobytes() for row in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def write_icons(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (size, kind) in ICONS.items():
        path = folder / name
        path.write_bytes(png_bytes(render_icon(size, kind)))
        written.append(path)
    return written
