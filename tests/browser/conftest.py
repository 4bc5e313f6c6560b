"""A real app server and a real Chromium (Debian's, driven by Playwright) for browser tests.

The server is started once per test session on a free loopback port with production-like
settings and stopped afterwards. Each test gets a fresh browser context. On failure a screenshot
and the server log are kept under ``test-artifacts/`` and their paths printed.

Without Chromium the tests are skipped, except when ``REQUIRE_BROWSER=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        msg = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; log: {log}\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"streamlit did not become healthy in {timeout} s; log: {log}")


def start_server(python: str = sys.executable, log_name: str = "server.log") -> tuple[subprocess.Popen, str, Path]:
    ARTIFACTS.mkdir(exist_ok=True)
    port = _free_port()
    log = ARTIFACTS / log_name
    cmd = [
        python,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "lab" / "Home.py"),
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
    handle = log.open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, log)
    except Exception:
        proc.kill()
        raise
    return proc, base, log


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def app_server():
    _require_browser()
    proc, base, _log = start_server()
    yield base
    stop_server(proc)


@pytest.fixture(scope="session")
def server_log() -> Path:
    return ARTIFACTS / "server.log"


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def context(browser, request):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    ctx.set_default_timeout(30_000)
    yield ctx
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for i, pg in enumerate(ctx.pages):
            shot = ARTIFACTS / f"{request.node.name}-{i}.png"
            try:
                pg.screenshot(path=str(shot), full_page=True)
                print(f"\nscreenshot: {shot}")
            except Exception as exc:  # the page may be gone; the log still helps
                print(f"\nno screenshot ({exc})")
        print(f"server log: {ARTIFACTS / 'server.log'}")
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
