import contextlib
import fcntl
import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BROWSER = Path(__file__).resolve().parent / "browser"  # its tests share one worker (see below)
# tests/reference.py (plain torch loops) is imported as a helper module by several tests.
sys.path.insert(0, str(Path(__file__).parent))
# The cost model keeps its defaults in the tests (and in the servers they start): what is short
# enough for Live, or over a budget, must not change halfway through a test because a calibration
# finished. tests/test_budget.py calibrates on purpose.
os.environ.setdefault("LAB_CALIBRATE", "0")


@pytest.fixture
def engine_calls(monkeypatch):
    """Every config engine.run is called with during a test (it still trains)."""
    from lab.core import engine

    calls = []
    real = engine.run

    def counting(cfg, *a, **kw):
        calls.append(cfg)
        return real(cfg, *a, **kw)

    monkeypatch.setattr(engine, "run", counting)
    return calls


@pytest.fixture
def fresh_shared_cache():
    """The process-wide run and sweep caches empty before and after the test (a page test must train,
    not find)."""
    from lab.app import runs

    runs.SHARED.clear()
    runs.SWEEPS.clear()
    yield
    runs.SHARED.clear()
    runs.SWEEPS.clear()


# ------------------------------------------------------------------------------------------ test tiers
def _drives_a_page(item: pytest.Item) -> bool:
    fixtures = getattr(item, "fixturenames", ())
    if any(name in fixtures for name in ("trained", "hosted")):
        return True
    try:
        source = inspect.getsource(item.function)
    except (OSError, TypeError, AttributeError):
        return False
    return "open_page(" in source or "AppTest" in source


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in one tier (docs/testing.md): ``browser`` (tests/browser), ``app`` (drives a page
    with Streamlit's AppTest), else ``unit``; and ``slow`` for the numeric comparisons over long runs
    and the tests marked slow by hand. ``-m "not slow and not browser"`` is the edit-test loop."""
    for item in items:
        if item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.app if _drives_a_page(item) else pytest.mark.unit)
        if item.get_closest_marker("numeric") is not None:
            item.add_marker(pytest.mark.slow)


# ------------------------------------------------------------------------- parallel runs (pytest-xdist)
# pyproject's addopts run the suite on every core (--numprocesses=auto --dist=loadfile, docs/testing.md).
def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """With ``-p no:xdist`` (or without pytest-xdist installed) addopts' ``--numprocesses`` and
    ``--dist`` are accepted and ignored: the suite runs in this one process."""
    if not pluginmanager.has_plugin("xdist"):
        group = parser.getgroup("xdist", "pytest-xdist is not loaded: these options do nothing")
        group.addoption("--numprocesses", dest="numprocesses", default=None)
        group.addoption("--dist", dest="dist", default="no")


def _scope(path: Path) -> Path:
    """What one worker runs at once: a test file, or every browser test (:func:`pytest_xdist_make_scheduler`)."""
    return BROWSER if BROWSER in path.parents else path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``--numprocesses=auto``: a worker per core, never more than the files to share out (one file
    runs in one worker); none for one file or without the slow tests, as in the edit-test loop: a
    worker costs a start (torch and Streamlit imported again) and its share of the same cores.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides if set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    if "not slow" in config.getoption("markexpr", ""):
        return 0  # the edit-test loop: its workers' starts cost more than they win (docs/testing.md)
    named = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    files = {_scope(f) for p in named for f in ([p] if p.is_file() else p.rglob("test_*.py"))}
    workers = min(len(os.sched_getaffinity(0)), len(files))
    return workers if workers > 1 else 0


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile`` with the browser tests as one file: they share one worker (one app server,
    one Chromium, the other workers left to the rest). A module's tests stay together too, so its
    module-scoped fixtures are built once. (``--dist loadgroup`` with ``xdist_group`` marks would say
    this, but with pytest 9.2 xdist 3.8 ignores the marks: pytest-dev/pytest-xdist#1386.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class BrowserTestsTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return str(_scope(config.rootpath / super()._split_scope(nodeid)))

    return BrowserTestsTogether(config, log)


@contextlib.contextmanager
def _share_of_the_cpus(item: pytest.Item) -> Iterator[None]:
    """In a worker of a parallel run, every test holds a shared lock and an ``alone`` test the
    exclusive one: it waits for the others' tests to end, and none starts until it is done. A gate
    taken first keeps a waiting ``alone`` test from being starved by tests that keep starting."""
    basetemp = item.config.getoption("basetemp", None)
    if not os.environ.get("PYTEST_XDIST_WORKER") or not basetemp:
        yield
        return
    run = Path(basetemp).parent  # this run's temporary folder, shared by its workers
    alone = item.get_closest_marker("alone") is not None
    with (run / "cpu-gate.lock").open("a") as gate, (run / "cpu.lock").open("a") as cpus:
        fcntl.flock(gate, fcntl.LOCK_EX)
        fcntl.flock(cpus, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        if not alone:
            fcntl.flock(gate, fcntl.LOCK_UN)
        yield  # closing the files releases their locks


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Setup (module fixtures included), call and teardown under :func:`_share_of_the_cpus`."""
    with _share_of_the_cpus(item):
        return (yield)
