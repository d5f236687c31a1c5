"""The release: reported to Sentry and in /metrics (``signalcraft_build_info``).
Deploys may override it with SIGNALCRAFT_RELEASE (e.g. a git describe)."""

from __future__ import annotations

import os

VERSION = "2026.12.0"


def release() -> str:
    return os.environ.get("SIGNALCRAFT_RELEASE") or f"signalcraft@{VERSION}"
