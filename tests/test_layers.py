"""The package layers of .importlinter hold: no import runs back up (app -> callbacks,
pages, ingestion -> ui -> analysis -> alerts -> fleet -> accounts -> core -> ml), and ml
imports no web, database or device code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_imports_only_run_downwards():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The check itself can fail: a core module importing a page is reported."""
    probe = ROOT / "dashboard" / "core" / "_layer_probe.py"
    probe.write_text("import callbacks.health  # noqa: F401\n")
    try:
        lint = Path(sys.executable).with_name("lint-imports")
        result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True,
                                text=True, timeout=120)
    finally:
        probe.unlink()
    assert result.returncode != 0 and "_layer_probe" in result.stdout
