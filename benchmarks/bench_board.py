"""The class board with a full room: 30 students post 10 runs each (the default run: 7 optimizers x
1 000 steps, each with its own seed), then the teacher's board is refreshed — once as a fragment
tick finds it unchanged (one count query), once after a new post (every run read again, the frames
and the three charts' specs built). Target: a refresh after a post in at most 1 s. Also reported:
the time of one post and the database's size per run; and the garbage collection Streamlit runs
after every script run, a tick included (``runner.postScriptGC``), in a process that has loaded what
a server loads, before and after the lab freezes it out (lab.app.runs.freeze_loaded), in the same run.

    python benchmarks/bench_board.py [--students 30] [--runs 10] [--db URL]

Without ``--db``: a SQLite file in a temporary folder; ``--db postgresql+psycopg://…`` for PostgreSQL.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path

from lab import store as db
from lab.app import charts, rooms, runs
from lab.core import caches, engine
from lab.core.config import RunConfig
from lab.store import rooms as room_store

PLENTY = room_store.PostLimits(runs=100_000, per_minute=100_000)


def fill(store: db.Store, students: int, runs: int) -> tuple[str, float]:
    """A room with ``students`` x ``runs`` posted runs; its code and the median seconds of a post."""
    room, _ = room_store.open_room(store, 4, 1_000)
    results = [engine.run(RunConfig(seed=seed)) for seed in range(runs)]  # the students' runs: 10 seeds
    posts = []
    for k in range(students):
        token = f"{k:022d}"
        room_store.join(store, room.code, f"student {k}", token)
        for i, res in enumerate(results):
            start = time.perf_counter()
            room_store.post(store, res, code=room.code, nickname=f"student {k}", session=token, seq=i, limits=PLENTY)
            posts.append(time.perf_counter() - start)
    return room.code, statistics.median(posts)


def refresh(store: db.Store, code: str) -> None:
    """What the board's fragment does on a tick: the room, its board (built when changed), three specs."""
    room = room_store.get(store, code)
    assert room is not None
    built, key = rooms.board(store, room)
    charts.spec(("class", "curves", key), lambda: charts.class_curves_chart(built.curves))
    charts.spec(("class", "sweep", key), lambda: charts.class_sweep_chart(built.scatter, built.challenge.measure))
    charts.spec(("class", "attempts", key), lambda: charts.attempts_chart(built.attempts))


def timed(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def collections() -> tuple[float, float]:
    """Median seconds of Streamlit's collection after a script run (``gc.collect(2)``) with the
    server's modules and the lab loaded: as they are, then frozen as the app's first run does."""
    from streamlit.web import bootstrap  # noqa: F401  (the server's modules, as in a running server)

    before = timed(lambda: gc.collect(2))
    runs.freeze_loaded()
    return before, timed(lambda: gc.collect(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lab-board-"))
    store = db.open(args.db or f"sqlite:///{folder / 'runs.sqlite'}")
    code, post = fill(store, args.students, args.runs)
    total = args.students * args.runs

    def changed() -> None:
        caches.clear_all()  # as after a post: nothing of the board is cached
        refresh(store, code)

    cold = timed(changed)
    refresh(store, code)
    warm = timed(lambda: refresh(store, code), repeat=20)
    built, _ = rooms.board(store, room_store.get(store, code))
    print(f"{total} runs from {args.students} students in room {code} ({store.where})")
    print(f"one post: {post * 1e3:.1f} ms (median)")
    print(f"board refresh after a post: {cold:.3f} s (target <= 1 s){'' if cold <= 1 else '  OVER'}")
    print(f"board refresh, nothing new: {warm * 1e3:.1f} ms")
    print(f"curves drawn: {len(built.curves):,} points; leaderboard: {len(built.leaderboard)} rows")
    if not args.db:
        size = sum(p.stat().st_size for p in folder.glob("runs.sqlite*"))
        print(f"database: {size / 2**20:.1f} MB, {size / total / 1e3:.0f} kB per run")
    store.close()
    before, after = collections()
    print(
        f"Streamlit's collection after each script run (every tick): {before * 1e3:.1f} ms as loaded, "
        f"{after * 1e6:.0f} µs once frozen"
    )


if __name__ == "__main__":
    main()
