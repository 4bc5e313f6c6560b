"""Every process-wide cache of the lab, made here and listed here.

Streamlit runs each visitor's session as a thread of one process, so whatever one session computes
(a run, a chart's spec, a schedule's rates) can serve the next one that asks the same: each cache
is either an :class:`LRU` map (thread-safe, bounded by entries and optionally by size) or a
function memoised with :func:`memo`. Both register under a name, so :func:`clear_all` empties every
one of them — what a test does to start from a cold process — and :func:`sizes` says how full each is.

Two caches outlive the process, on disk and shared by every process of an install: the torch.optim
and scheduler probes (:func:`lab.core.optimizers.remembered`) and Numba's compiled loops
(:mod:`lab.core.kernel`). Processes that start together (a server's replicas, a test run's workers)
fill them one at a time under :func:`disk_lock`, so the work is done once and the others read it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar

try:
    import fcntl
except ImportError:  # Windows: no flock; each process does its own work, as without a lock
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")
LOCK_WAIT = 120.0  # seconds a process waits for another's lock before it goes on without it

_CLEARS: dict[str, Callable[[], None]] = {}
_SIZES: dict[str, Callable[[], int]] = {}


def _register(name: str, clear: Callable[[], None], size: Callable[[], int]) -> None:
    if name in _CLEARS:
        raise ValueError(f"a cache named {name!r} exists already")
    _CLEARS[name], _SIZES[name] = clear, size


class LRU:
    """A thread-safe least-recently-used map, bounded by entry count and optionally by size (the sum
    of ``size(value)`` over the entries: the newest entry is always kept). A process-wide one is made
    with a ``name``, which registers it; one without is a private map (a test's)."""

    def __init__(
        self,
        max_entries: int,
        max_bytes: int | None = None,
        size: Callable[[Any], int] | None = None,
        *,
        name: str | None = None,
    ):
        self.max_entries, self.max_bytes, self.size = max_entries, max_bytes, size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        if name is not None:
            _register(name, self.clear, self.__len__)

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries or (
                self.max_bytes is not None
                and self.size is not None
                and len(self._items) > 1
                and sum(self.size(v) for v in self._items.values()) > self.max_bytes
            ):
                self._items.popitem(last=False)

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The value for ``key``, built (outside the lock: building may be slow) when missing."""
        value = self.get(key)
        if value is None:
            value = build()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def memo(name: str, maxsize: int | None = None) -> Callable[[Callable[..., T]], functools._lru_cache_wrapper[T]]:
    """``functools.lru_cache(maxsize)`` (unbounded when None), registered under ``name``."""

    def wrap(fn: Callable[..., T]) -> functools._lru_cache_wrapper[T]:
        cached = functools.lru_cache(maxsize=maxsize)(fn)
        _register(name, cached.cache_clear, lambda: cached.cache_info().currsize)
        return cached

    return wrap


def clear_all() -> None:
    """Empty every cache of this process (tests: start as a fresh server would)."""
    for clear in _CLEARS.values():
        clear()


def sizes() -> dict[str, int]:
    """Entries held now, by cache name."""
    return {name: size() for name, size in _SIZES.items()}


_HELD_HERE = threading.local()  # the paths this thread holds a disk_lock on


@contextlib.contextmanager
def disk_lock(path: str | os.PathLike[str], wait: float | None = None) -> Iterator[None]:
    """An exclusive lock on the file ``path``, for every process that fills the same cache on disk
    (``flock``: released when the file is closed, also when its holder dies). Best effort: where
    the file cannot be made (a read-only install), the file system refuses locks, the platform has
    no ``flock``, or another process has held it for ``wait`` seconds (:data:`LOCK_WAIT`; one
    stopped mid-compile with Ctrl-Z), it goes on without it, each process doing its own work as it
    would without a lock. Asked again by the thread that holds it (a compile that starts another, a
    probe that asks for another), it is held already: ``flock`` would conflict with a second open
    of the same file even in one process. Another thread of the process waits as another process does."""
    held = _HELD_HERE.__dict__.setdefault("paths", set())
    key = os.path.abspath(os.fspath(path))
    lock = None
    if fcntl is not None and key not in held:
        try:
            os.makedirs(os.path.dirname(key), exist_ok=True)
            lock = open(key, "a")  # noqa: SIM115 (closed below, which releases the lock)
        except OSError:
            lock = None
    if lock is None:
        yield
        return
    with lock:
        deadline = time.monotonic() + (LOCK_WAIT if wait is None else wait)
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:  # held by another process: wait for it, up to the deadline
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            except OSError:  # a file system without locks
                break
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)


def one_compiler_at_a_time(dispatcher):
    """``dispatcher`` (a Numba function called from Python) compiles a new signature under a lock
    shared by every process using the same cache folder: one that finds the lock taken waits, then
    Numba's compile finds the code the other kept and loads it. Without it, processes that start at
    once each compile for seconds on the same cores (two replicas behind a balancer on a fresh
    install: both, at the same time). Numba calls ``_compile_for_args`` only when no compiled
    version fits the arguments, so a call that finds one pays nothing."""
    cache = getattr(dispatcher, "_cache", None)
    folder = getattr(cache, "cache_path", None)  # Numba's NullCache (no cache=True) has none
    if folder is None:
        return dispatcher
    compile_for_args = dispatcher._compile_for_args

    def locked(*args, **kws):
        with disk_lock(os.path.join(folder, "compile.lock")):  # a compile that starts another: held
            return compile_for_args(*args, **kws)

    dispatcher._compile_for_args = locked  # an instance attribute: Numba's C dispatcher looks it up by name
    return dispatcher
