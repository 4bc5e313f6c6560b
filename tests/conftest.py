import contextlib
import fcntl
import inspect
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from glob import glob
from pathlib import Path

import pytest
import sqlalchemy as sa

TESTS = Path(__file__).resolve().parent
BROWSER = TESTS / "browser"  # its tests share one worker (see below), but for the clusters'
# The scopes that take longest (measured: docs/testing.md), started first so that no worker is left
# with one of them at the end while the others have finished; the other files follow by their count.
# Those that mostly wait (on a browser, a server, a cluster starting) alternate with those that
# compute (torch.optim's own loops), so that waiting and computing overlap.
LONGEST = (
    BROWSER,
    TESTS / "test_float32.py",
    BROWSER / "test_cluster_class.py",
    TESTS / "test_schedulers.py",
    BROWSER / "test_cluster.py",
    TESTS / "test_compiled_rules.py",
    TESTS / "test_lbfgs.py",
    TESTS / "test_engine.py",
)
# tests/reference.py (plain torch loops) is imported as a helper module by several tests.
sys.path.insert(0, str(Path(__file__).parent))
# The cost model keeps its defaults in the tests (and in the servers they start): what is short
# enough for Live, or over a budget, must not change halfway through a test because a calibration
# finished. tests/test_budget.py calibrates on purpose.
os.environ.setdefault("LAB_CALIBRATE", "0")
# Bytecode caches on, for the run and every process it starts. A run starts dozens of Python
# processes (its workers, app servers, replicas, command lines); where PYTHONDONTWRITEBYTECODE is set
# (this machine's image sets it) each compiled the lab, and each worker the tests and their rewritten
# asserts, from source again: ~1.8 CPU-s a worker. ``__pycache__`` is git-ignored.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


@pytest.fixture(scope="session", autouse=True)
def run_store_dir(tmp_path_factory):
    """The embedded run store (lab/store) in a folder of the test session's, never the user's
    ~/.local/share; the servers the tests start inherit it."""
    from lab.app import archive

    os.environ["LAB_DATA_DIR"] = str(tmp_path_factory.mktemp("run-store"))
    os.environ.pop("LAB_DB", None)
    archive.reset()
    yield
    archive.reset()


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
def lab_cli(capsys):
    """``python -m lab ARGS`` run in this process (``lab/__main__.py`` is ``sys.exit(main())``, and
    one test per command still starts the real process): its exit code, stdout and stderr. A
    subprocess costs ~1 s of imports per call."""
    from lab.core import cli

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(autouse=True)
def _default_costs():
    """The cost model's calibration (``python -m lab compare --dry-run``, a server's start) is
    process-wide: one made by a test, timed under the whole suite's load, must not judge the next
    test's runs (a worker's calibration once made every optimizer × 30 000 steps "not short")."""
    from lab.core import cost

    yield
    cost._calibrated = None


@pytest.fixture
def fresh_shared_cache():
    """Every process-wide cache empty before and after the test, as in a fresh server (a page test
    must train, not find)."""
    from lab.core import caches

    caches.clear_all()
    yield
    caches.clear_all()


# ------------------------------------------------------------------------------------------ databases
# The run store's tests (tests/test_store.py, tests/test_rooms.py) run against SQLite always and against
# a private PostgreSQL server where one is installed.
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _initdb() -> str | None:
    found = shutil.which("initdb") or next(iter(sorted(glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)), None)
    return found


@pytest.fixture(scope="session")
def postgres_server():
    """A private PostgreSQL server on a free loopback port for the test session (its own data folder,
    trust authentication, stopped and removed at the end); the URL of its maintenance database."""
    initdb = _initdb()
    if initdb is None:
        pytest.skip("PostgreSQL is not installed (initdb not found): CI installs it (.ci/run)")
    bindir = Path(initdb).parent
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # postgres refuses root
    folder = Path(tempfile.mkdtemp(prefix="lab-pg-"))
    data = folder / "data"
    if as_postgres:
        shutil.chown(folder, "postgres")
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres")
        options = f"-k {folder} -h 127.0.0.1 -p {port} -F"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-o", options, "-w", "start")
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"could not start a private PostgreSQL server: {exc}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


_DATABASES = iter(range(1_000_000))


def _fresh_postgres(server: str) -> str:
    """A new, empty database on the private server."""
    name = f"lab_test_{next(_DATABASES)}"
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.sqlite'}"
    return _fresh_postgres(request.getfixturevalue("postgres_server"))


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
    and the tests marked slow by hand. ``-m "not slow and not browser"`` is the edit-test loop.

    A test with an :func:`alone` stretch runs last in its scope (the browser tests', in a parallel
    run): its stretch waits for the tests in flight in the other workers, and late in a run those are
    short ones; the long ones go out first (``LONGEST``). Run mid-way, it waited for a cluster test while
    no other test could start: ~15 s with one core idle."""
    for item in items:
        if item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.app if _drives_a_page(item) else pytest.mark.unit)
        if item.get_closest_marker("numeric") is not None:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: "alone" in getattr(item, "fixturenames", ()))  # stable: the rest keep their order


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
    """What one worker runs at once (:func:`pytest_xdist_make_scheduler`): a test file, or every
    browser test that uses the worker's app server and Chromium. A ``test_cluster*.py`` file starts
    servers of its own (replicas, HAProxy, PostgreSQL) on ports of its own: a scope of its own."""
    return BROWSER if BROWSER in path.parents and not path.name.startswith("test_cluster") else path


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
    waiting = BROWSER in files and not config.getoption("markexpr", "")  # every test, the browser's too
    workers = min(len(os.sched_getaffinity(0)) + waiting, len(files))  # + the browser's, mostly waiting
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

    first = [str(scope) for scope in LONGEST]

    class BrowserTestsTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return str(_scope(config.rootpath / super()._split_scope(nodeid)))

        def _assign_work_unit(self, node) -> None:
            """The longest scope still waiting goes out first (xdist hands them out in the order of
            its queue: by their number of tests)."""
            waiting = next((scope for scope in first if scope in self.workqueue), None)
            if waiting is not None:
                self.workqueue.move_to_end(waiting, last=False)
            super()._assign_work_unit(node)

    return BrowserTestsTogether(config, log)


_HELD: list = []  # while a test runs in a worker of a parallel run: its open (gate, cpus) lock files


@contextlib.contextmanager
def _share_of_the_cpus(item: pytest.Item) -> Iterator[None]:
    """In a worker of a parallel run, every test holds a shared lock on the run's CPUs, taken
    through a gate; :func:`alone` turns it into the exclusive one for a measured stretch."""
    basetemp = item.config.getoption("basetemp", None)
    if not os.environ.get("PYTEST_XDIST_WORKER") or not basetemp:
        yield
        return
    run = Path(basetemp).parent  # this run's temporary folder, shared by its workers
    with (run / "cpu-gate.lock").open("a") as gate, (run / "cpu.lock").open("a") as cpus:
        fcntl.flock(gate, fcntl.LOCK_EX)
        fcntl.flock(cpus, fcntl.LOCK_SH)
        fcntl.flock(gate, fcntl.LOCK_UN)
        _HELD[:] = [gate, cpus]
        try:
            yield  # closing the files releases their locks
        finally:
            _HELD.clear()


@pytest.fixture
def alone() -> Callable[[], contextlib.AbstractContextManager[None]]:
    """``with alone(): …`` runs a measured stretch of a test with no other test beside it in a
    parallel run: it waits for the tests in flight in the other workers, and none starts until it
    is done (the gate, taken first, keeps it from being starved by tests that keep starting). Only
    the stretch that measures a time: the rest of the test runs beside the others, which wait for
    it no longer than they must. Outside a parallel run it does nothing."""

    @contextlib.contextmanager
    def stretch() -> Iterator[None]:
        if not _HELD:
            yield
            return
        assert len(_HELD) == 2, "alone() is not nested: the inner stretch would end the outer one's"
        gate, cpus = _HELD
        _HELD.append("alone")
        try:
            fcntl.flock(cpus, fcntl.LOCK_UN)  # not held while waiting at the gate: no two waiters deadlock
            fcntl.flock(gate, fcntl.LOCK_EX)
            fcntl.flock(cpus, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(cpus, fcntl.LOCK_SH)
            fcntl.flock(gate, fcntl.LOCK_UN)
            _HELD.pop()

    return stretch


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Setup (module fixtures included), call and teardown under :func:`_share_of_the_cpus`."""
    with _share_of_the_cpus(item):
        return (yield)
