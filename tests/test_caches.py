"""lab.core.caches: every process-wide cache registered under a name, emptied by clear_all()."""

import pytest

from lab.app import charts, runs, steps  # noqa: F401  (importing them makes their caches)
from lab.core import caches, datasets, schedulers  # noqa: F401


def test_every_process_wide_cache_is_registered_and_clear_all_empties_each():
    names = set(caches.sizes())
    assert {"runs", "sweeps", "chart specs", "noise frames", "schedules", "data sets"} <= names
    runs.SWEEPS.put("k", 1)
    datasets.register(datasets.parse_csv(b"x,y\n0,1\n1,3\n", "two.csv"))
    assert caches.sizes()["sweeps"] >= 1 and caches.sizes()["data sets"] >= 1
    caches.clear_all()
    assert set(caches.sizes().values()) == {0}


def test_memo_counts_its_entries_and_a_second_cache_of_one_name_is_refused():
    calls = []

    @caches.memo("test: squares", maxsize=2)
    def square(x):
        calls.append(x)
        return x * x

    assert [square(3), square(3), square(4)] == [9, 9, 16] and calls == [3, 4]
    assert caches.sizes()["test: squares"] == 2
    caches.clear_all()
    assert square(3) == 9 and calls == [3, 4, 3]
    with pytest.raises(ValueError, match="exists already"):
        caches.LRU(1, name="test: squares")


def test_an_unnamed_map_is_private():
    before = caches.sizes()
    private = caches.LRU(2)
    private.put("a", 1)
    caches.clear_all()
    assert private.get("a") == 1 and set(caches.sizes()) == set(before)


def test_a_disk_lock_waits_for_its_holder_and_never_stops_the_work(tmp_path, monkeypatch):
    """Exclusive between holders (flock: a second open file conflicts as another process's would),
    held already for the thread that holds it; a holder that keeps it past the wait (a process
    stopped mid-compile), a folder that cannot be made, or a platform without flock: the work goes
    on without the lock instead of hanging or failing."""
    import fcntl
    import threading
    import time

    path = tmp_path / "cache" / "fill.lock"
    order = []

    def second():
        with caches.disk_lock(path, wait=5):
            order.append("second")

    with caches.disk_lock(path):
        waiter = threading.Thread(target=second)
        waiter.start()
        waiter.join(0.3)
        assert waiter.is_alive()  # waiting for the first holder
        t0 = time.monotonic()
        with caches.disk_lock(path, wait=5):  # asked again by its holder (a compile starting another)
            assert time.monotonic() - t0 < 1  # held already: no wait for itself
        assert waiter.is_alive()  # and still held after that inner stretch
        order.append("first")
    waiter.join(5)
    assert order == ["first", "second"]

    with path.open("a") as held:  # held elsewhere and never let go
        fcntl.flock(held, fcntl.LOCK_EX)
        t0 = time.monotonic()
        with caches.disk_lock(path, wait=0.2):
            waited = time.monotonic() - t0
        assert 0.2 <= waited < 2

    blocker = tmp_path / "a file"
    blocker.write_text("")
    with caches.disk_lock(blocker / "cannot" / "be.lock"):  # its folder cannot be made: no lock, no error
        pass
    monkeypatch.setattr(caches, "fcntl", None)
    with caches.disk_lock(path):
        pass
