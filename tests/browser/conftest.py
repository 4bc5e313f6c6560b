"""A real app server and a real Chromium (Debian's, driven by Playwright) for browser tests.

The server is started once per test session on a free loopback port with production-like
settings and stopped afterwards. A module's tests share one browser context, emptied for each test
(:func:`context`). On failure a screenshot and the text of each page, and the server log, are kept
under ``test-artifacts/`` and their paths printed.

Without Chromium the tests are skipped, except when ``REQUIRE_BROWSER=1`` (CI), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import appserver as server
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# Debian's Chromium, as its headless shell where installed (`apt-get install chromium-headless-shell`:
# the same Blink and V8 without the browser's UI, the build Playwright itself runs headless; measured,
# the same browser tests took 22 % less CPU than under the full `chromium`), else the full browser.
# The shell's binary itself, not /usr/bin's wrapper (a `sh` that does not exec it: closing the wrapper
# would leave the browser running).
HEADLESS_SHELL = Path("/usr/lib/chromium/chromium-headless-shell")
CHROMIUM = (
    os.environ.get("CHROMIUM_PATH")
    or (str(HEADLESS_SHELL) if HEADLESS_SHELL.exists() else None)
    or shutil.which("chromium")
    or "/usr/bin/chromium"
)


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        msg = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium chromium-headless-shell)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")


@pytest.fixture(scope="session")
def app_server():
    _require_browser()
    proc, base = server.start(ARTIFACTS / "server.log")
    yield base
    server.stop(proc)


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=server.CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def module_context(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture
def context(module_context, request):
    """The module's browser context, emptied for each test: no page open and no cookie, and the
    local and session storage of the pages the test left open cleared (the app keeps nothing there).
    What a test inherits is the cache: a fresh context's first page load fetches and compiles the
    app's scripts again (~0.4 CPU-s, the server's share included). Anything context-wide (routes,
    init scripts, permissions) needs a context of the test's own."""
    ctx = module_context
    assert ctx.pages == [] and ctx.cookies() == [], "a test left the module's context in use"
    yield ctx
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        keep_pages(ctx, request.node.name)
        print(f"server log: {ARTIFACTS / 'server.log'}")
    for pg in ctx.pages:
        with contextlib.suppress(Exception):  # a page that is gone has nothing stored, nor to close
            pg.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
            pg.close()
    ctx.clear_cookies()


def keep_pages(ctx, name: str) -> None:
    """A failing test's pages as they were: a screenshot and the text of each, under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    for i, pg in enumerate(ctx.pages):
        shot = ARTIFACTS / f"{name}-{i}.png"
        try:
            pg.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot: {shot}")
        except Exception as exc:  # the page may be gone; the log still helps
            print(f"\nno screenshot ({exc})")
        try:
            shot.with_suffix(".txt").write_text(f"{pg.url}\n\n{pg.locator('body').inner_text(timeout=5_000)}")
        except Exception as exc:
            print(f"no page text ({exc})")


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def new_context(browser, request):
    """``new_context(**options)``: a browser context of the test's own (another user, a fresh
    visitor, a tab closed at once), closed at the end; on a failure each one's open pages are kept,
    as the shared context's are."""
    made = []

    def make(**options):
        ctx = browser.new_context(**options)
        made.append(ctx)
        return ctx

    yield make
    report = getattr(request.node, "rep_call", None)
    for i, ctx in enumerate(made):
        if report is not None and report.failed:
            with contextlib.suppress(Exception):  # a context the test closed has no pages left to keep
                keep_pages(ctx, f"{request.node.name}-{i}")
        with contextlib.suppress(Exception):  # nor anything to close
            ctx.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def data_folder():
    """A data folder the postgres user can reach too (PostgreSQL refuses to run as root, and pytest's
    own temporary folders are closed to other users)."""
    folder = Path(tempfile.mkdtemp(prefix="lab-cluster-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
