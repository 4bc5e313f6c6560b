"""``python -m lab.serve``: the same app as ``streamlit run lab/Home.py``, loaded before the first visit."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import appserver as server


def test_serve_starts_the_app_with_the_lab_already_loaded(tmp_path):
    proc, base = server.start(tmp_path / "serve.log", launcher="serve")
    try:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=5) as r:
            assert r.read().strip() == b"ok"
        with urllib.request.urlopen(f"{base}/optimizers", timeout=5) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
        # The process imported torch and trained once before serving: its memory says so.
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss_mb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024
        assert rss_mb > 150  # a bare Streamlit server is ~55 MB; with torch and the lab loaded, several times that
    finally:
        server.stop(proc)
