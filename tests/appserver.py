"""Start and stop ``streamlit run lab/Home.py`` on a free loopback port (for browser tests and
benchmarks). Plain subprocess code: nothing here imports Streamlit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    """Poll ``/_stcore/health`` until it answers ``ok``; fail early if the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; log {log}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"streamlit did not become healthy in {timeout} s; log: {log}")


def start(
    log: Path, python: str = sys.executable, launcher: str = "streamlit", env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """The app with production-like settings; returns the process and its base URL. ``launcher``:
    ``streamlit`` (``streamlit run lab/Home.py``) or ``serve`` (``python -m lab.serve``, which loads
    the lab before the first visit); ``env``: variables set for it (e.g. ``LAB_PROFILE``)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    head = ["-m", "streamlit", "run", str(ROOT / "lab" / "Home.py")] if launcher == "streamlit" else ["-m", "lab.serve"]
    cmd = [
        python,
        *head,
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    with log.open("w") as handle:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, log)
    except Exception:
        proc.kill()
        raise
    return proc, base


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
