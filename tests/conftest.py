import inspect
import os
import sys
from pathlib import Path

import pytest

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
