"""A class posting at once through deploy/cluster.sh (issue 22's load proof): 30 students post 10 runs
each through 2 replicas and one run store; then every run is counted in the database (none lost, none
doubled), the teacher's board with them all is refreshed (target <= 1 s), and the servers' CPU
seconds per post and the database's size per run are reported.

    python benchmarks/bench_class.py [--students 30] [--runs 10] [--db postgres|sqlite] [--steps 1000]

How the students are driven, honestly: not by 30 Chromium pages (two shared cores cannot run them),
but by Streamlit's own WebSocket protocol, as a browser speaks it: each post is one visit of a
training link, ``/optimizers?seed=…&steps=…&run=1&s=<token>`` — a new Streamlit session on the replica
HAProxy picks, carrying the student's token, in which the Optimizers page trains the run and posts it
to the room the token joined (the page's own code, its run keeper). The 30 students run at once, each
visiting its 10 links one after the other; a visit ends when the page has drawn its results table
and its script has finished. The students join the room through the store's API (lab/app/rooms.join,
the rules the Class page's join form applies), since the WebSocket driver fills in no forms.

Reported: posts per second, each visit's time (median, max), errors (an exception on the page, a
run the room refused or the store did not keep, a visit that timed out); the room's rows and
distinct ids in the database, and each student's distinct runs; the board's refresh after a post
and with nothing new (benchmarks/bench_board.py's refresh: the board's queries, frames and chart
specs); the replicas' CPU seconds per post (and PostgreSQL's), against the CPU of the same run
trained by the bare engine in this process (the baseline: what a post costs beyond training); the
database's size per run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import websockets
from bench_board import refresh, timed
from bench_load import app_processes, cpu_seconds, start_cluster
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.typing import Origin, Subprotocol

from lab import store as db
from lab.app import rooms
from lab.core import caches, engine
from lab.core.config import RunConfig
from lab.store.schema import RUNS

VISIT_TIMEOUT = 300.0  # seconds a visit may take before it counts as an error
REFUSED = ("not posted", "not being saved")  # the page's notices for a run the room or the store did not take


@dataclass
class Tally:
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _said(msg: ForwardMsg) -> tuple[str | None, str]:
    """(the kind of element a delta draws, its text where it is a notice or an exception)."""
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return None, ""
    element = msg.delta.new_element
    kind = element.WhichOneof("type")
    if kind == "alert":
        return kind, element.alert.body
    if kind == "exception":
        return kind, f"{element.exception.type}: {element.exception.message}"
    return kind, ""


async def visit(base: str, query: str, tally: Tally) -> None:
    """One visit of the Optimizers page with ``query``: until its results are drawn and its script finished."""
    url = base.replace("http://", "ws://") + "/_stcore/stream"
    start = time.perf_counter()
    async with websockets.connect(
        url, subprotocols=[Subprotocol("streamlit")], origin=Origin(base), max_size=None
    ) as ws:
        ask = BackMsg()
        ask.rerun_script.query_string = query
        ask.rerun_script.page_name = "optimizers"
        await ws.send(ask.SerializeToString())
        drawn = False
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await ws.recv())
            kind, text = _said(msg)
            drawn |= kind == "table"
            if kind == "exception" or (kind == "alert" and any(r in text for r in REFUSED)):
                tally.errors.append(f"{query}: {text[:200]}")
            finished = msg.WhichOneof("type") == "script_finished"
            if finished and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY and drawn:
                break
    tally.times.append(time.perf_counter() - start)


async def student(base: str, token: str, seeds: list[int], steps: int, tally: Tally) -> None:
    for seed in seeds:
        try:
            await asyncio.wait_for(visit(base, f"seed={seed}&steps={steps}&run=1&s={token}", tally), VISIT_TIMEOUT)
        except (TimeoutError, OSError, websockets.WebSocketException) as exc:
            tally.errors.append(f"seed {seed}: {type(exc).__name__}: {str(exc)[:200]}")


def class_at_once(base: str, tokens: list[str], runs: int, steps: int) -> tuple[Tally, float]:
    tally = Tally()

    async def everyone() -> None:
        await asyncio.gather(
            *(
                student(base, token, [10_000 + k * runs + i for i in range(runs)], steps, tally)
                for k, token in enumerate(tokens)
            )
        )

    start = time.perf_counter()
    asyncio.run(everyone())
    return tally, time.perf_counter() - start


def replicas_store(logs: Path, data: Path) -> str:
    """The run store cluster.sh gave its replicas: their LAB_DB, else the SQLite file."""
    pid = (logs / "app1.pid").read_text().strip()
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    given = [v.split(b"=", 1)[1].decode() for v in environ if v.startswith(b"LAB_DB=")]
    return given[0] if given else f"sqlite:///{data / 'runs.sqlite'}"


def postgres_processes(data: Path) -> list[int]:
    """The cluster's PostgreSQL: its postmaster and every backend and worker under it."""
    pid_file = data / "postgres" / "data" / "postmaster.pid"
    if not pid_file.exists():
        return []
    root = pid_file.read_text().split()[0]
    found = [int(root)]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == root:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


def live_cpu(pids: list[int]) -> float:
    """CPU seconds of the processes still running (a PostgreSQL backend ends with its connection)."""
    return sum(cpu_seconds([p]) for p in pids if Path(f"/proc/{p}").exists())


def counted(store: db.Store, code: str) -> tuple[int, int, list, int]:
    """(rows, distinct short ids, (session, rows, distinct configs) per student, distinct runs) in the room."""
    room = RUNS.c.room == code
    with store.engine.connect() as conn:
        rows, ids = conn.execute(
            sa.select(sa.func.count(), sa.func.count(RUNS.c.short_id.distinct())).where(room)
        ).one()
        per = conn.execute(
            sa.select(RUNS.c.session, sa.func.count(), sa.func.count(RUNS.c.config.distinct()))
            .where(room)
            .group_by(RUNS.c.session)
        ).all()
    return rows, ids, list(per), sum(distinct for _, _, distinct in per)


def size_bytes(store: db.Store, data: Path) -> int:
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT pg_total_relation_size('runs')")).scalar_one())
    return sum(p.stat().st_size for p in data.glob("runs.sqlite*"))


def engine_cpu(steps: int, repeat: int = 10) -> float:
    """The baseline: CPU seconds of one default run trained by the bare engine in this process."""
    engine.run(RunConfig(seed=1, steps=steps))  # compiled and warm
    start = time.process_time()
    for seed in range(repeat):
        engine.run(RunConfig(seed=20_000 + seed, steps=steps))
    return (time.process_time() - start) / repeat


def report_posts(tally: Tally, wall: float, total: int) -> None:
    t = tally.times
    spread = f"median {statistics.median(t):.2f} s, max {max(t):.2f} s" if t else "none finished"
    print(f"{len(t)}/{total} visits finished in {wall:.1f} s ({len(t) / wall:.1f} posts/s); each visit {spread}")
    print(f"errors: {len(tally.errors)}")
    for e in tally.errors[:10]:
        print(f"  error: {e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--runs", type=int, default=10, help="runs each student posts")
    ap.add_argument("--steps", type=int, default=1000, help="steps of each run (the page's default)")
    ap.add_argument("--db", choices=("postgres", "sqlite"), default="postgres", help="the cluster's run store")
    args = ap.parse_args()
    total = args.students * args.runs
    tmp = Path(tempfile.mkdtemp(prefix="bench-class-"))
    tmp.chmod(0o755)  # --db postgres as root: the postgres user reaches its folder in here
    data = tmp / "data"
    os.environ["LAB_DATA_DIR"] = str(data)  # the cluster's run store: the benchmark's own
    os.environ.setdefault("PYTHON", sys.executable)  # cluster.sh starts its replicas with this Python
    (tmp / "cluster").mkdir()
    proc, base = start_cluster(tmp / "cluster", args.db)
    try:
        time.sleep(1)
        store = db.open(replicas_store(tmp / "cluster", data))
        teaching = rooms.open_room(store)
        tokens = [db.new_token() for _ in range(args.students)]
        for k, token in enumerate(tokens):
            rooms.join(store, teaching.code, f"student {k + 1}", token)
        servers, database = app_processes(proc.pid), postgres_processes(data)
        print(f"cluster.sh: {len(servers)} replicas, {store.where}; room {teaching.code}, {args.students} students")
        cpu0, db0 = cpu_seconds(servers), live_cpu(database)
        tally, wall = class_at_once(base, tokens, args.runs, args.steps)
        cpu = cpu_seconds(servers) - cpu0
        db_cpu = live_cpu(database) - db0  # backends that ended meanwhile are not counted (a lower bound)
        report_posts(tally, wall, total)

        rows, ids, per, distinct = counted(store, teaching.code)
        whole = [n for _, n, d in per if n == args.runs == d]
        verdict = (
            "none lost or doubled"
            if rows == ids == distinct == total and len(whole) == args.students
            else "LOST OR DOUBLED"
        )
        print(
            f"in the database: {rows} rows, {ids} distinct ids, {distinct} distinct runs; "
            f"{len(whole)}/{args.students} students with exactly their {args.runs} runs (want {total}: {verdict})"
        )

        def changed() -> None:
            caches.clear_all()  # as after a post: nothing of the board is cached
            refresh(store, teaching.code)

        cold = timed(changed)
        warm = timed(lambda: refresh(store, teaching.code), repeat=20)
        print(
            f"board with {rows} runs: a refresh after a post {cold:.3f} s (target <= 1 s)"
            f"{'' if cold <= 1 else '  OVER'}; with nothing new {warm * 1e3:.1f} ms"
        )

        done = max(1, len(tally.times))
        base_cpu = engine_cpu(args.steps)
        print(
            f"server CPU per post: {cpu / done:.3f} s in the replicas"
            + (f" + {db_cpu / done * 1e3:.1f} ms in PostgreSQL (at least)" if database else "")
            + f"; the bare engine trains the same run in {base_cpu * 1e3:.0f} ms CPU: "
            f"{cpu / done / base_cpu:.1f}x (page, session and post around the training)"
        )
        size = size_bytes(store, data)
        print(f"database: runs {size / 2**20:.1f} MB, {size / max(1, rows) / 1e3:.1f} kB per run")
        store.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
