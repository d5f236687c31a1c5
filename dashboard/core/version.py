"""The release: reported to Sentry, in /readyz and in /metrics (``signalcraft_build_info``).

``SIGNALCRAFT_RELEASE`` wins; else the ``RELEASE`` file that ``deploy/deploy.sh`` writes
into each release folder (so /readyz tells which release answered); else the version."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

VERSION = "2026.12.0"
ROOT = Path(__file__).resolve().parents[2]


@cache
def release() -> str:
    if os.environ.get("SIGNALCRAFT_RELEASE"):
        return os.environ["SIGNALCRAFT_RELEASE"]
    try:
        written = (ROOT / "RELEASE").read_text().strip()
    except OSError:
        written = ""
    return written or f"signalcraft@{VERSION}"
