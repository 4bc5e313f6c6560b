"""A class at once: N real browser sessions (Debian's Chromium via Playwright) against one server and
against deploy/cluster.sh with 2 replicas, then one session training many runs.

Each session opens a training link (its own seed; some sessions share a config, as a class
following the teacher's link does), waits for its results and downloads its summary CSV. Reported:
errors, each session's time to results (measured in the page, from navigation start), the server
processes' CPU seconds per session and their RSS before and after (the browsers run on the same
cores, so server cost and browser time are reported apart), and whether every downloaded CSV
equals a solo ``python -m lab compare`` run of the same config, bit for bit (w, b, final loss,
steps to tolerance). Then one session trains ``--runs`` runs in a row and the server's RSS growth is
reported (a session keeps its last runs only; the shared cache is bounded in bytes).

    python benchmarks/bench_load.py [--sessions 10] [--steps 2000] [--runs 100] [--db sqlite|postgres]

The servers keep their runs in a data folder of the benchmark's own (never the user's store); the
cluster's replicas share it as one SQLite file, or a PostgreSQL server of the cluster's own (--db).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test-server helper
import appserver as server

ROOT = Path(__file__).resolve().parents[1]

TABLE = "[data-testid=stTable] table tbody tr"
IDLE = "[data-testid=stApp][data-test-script-state=notRunning][data-test-connection-state=CONNECTED]"
MARK_DONE = """
(() => {
  const tick = () => {
    if (document.querySelector('[data-testid=stTable] table tbody tr')) { window.__done = performance.now(); return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""
COMPARED = ["optimizer", "w", "b", "final_loss", "steps_to_tol"]
TICK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry.name))
    return out


def app_processes(root: int) -> list[int]:
    """The Streamlit processes under ``root`` (root itself for one server; the replicas of a cluster)."""
    todo, found = [root], []
    while todo:
        pid = todo.pop()
        try:
            cmd = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if (b"streamlit" in cmd and b"run" in cmd) or b"-m lab.serve" in cmd:  # cluster.sh starts lab.serve
            found.append(pid)
        todo += _children(pid)
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    return total


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def solo_summary(seed: int, steps: int, out: Path) -> pd.DataFrame:
    """The command line's summary of the config a link with this seed trains."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "lab",
            "compare",
            "--quiet",
            "--seed",
            str(seed),
            "--steps",
            str(steps),
            "--out",
            str(out),
        ],
        check=True,
        cwd=ROOT,
    )
    return pd.read_csv(out / "summary.csv")[COMPARED].sort_values("optimizer").reset_index(drop=True)


def class_at_once(browser, base: str, pids: list[int], sessions: int, steps: int, solo: dict) -> dict:
    seeds = [100 + (i % max(1, sessions - 2)) for i in range(sessions)]  # the last two repeat others' configs
    cpu0, rss0 = cpu_seconds(pids), rss_mb(pids)
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True) for _ in seeds]
    errors, times, identical = [], [], 0
    try:
        pages = []
        for ctx, seed in zip(contexts, seeds, strict=True):
            ctx.add_init_script(MARK_DONE)
            page = ctx.new_page()
            page.goto(f"{base}/optimizers?seed={seed}&steps={steps}&run=1", wait_until="commit")
            pages.append(page)
        for page, seed in zip(pages, seeds, strict=True):
            try:
                page.locator(TABLE).first.wait_for(timeout=300_000)
                page.wait_for_selector(IDLE, timeout=120_000)
                if page.locator("[data-testid=stException]").count():
                    errors.append(f"seed {seed}: {page.locator('[data-testid=stException]').first.inner_text()[:200]}")
                    continue
                times.append(page.evaluate("() => window.__done") / 1000)
                page.get_by_role("tab", name="Downloads & history", exact=True).click()  # drawn when opened
                with page.expect_download(timeout=60_000) as info:
                    page.get_by_role("button", name="Summary CSV", exact=True).click()
                got = pd.read_csv(info.value.path())[COMPARED].sort_values("optimizer").reset_index(drop=True)
                if got.equals(solo[seed]):
                    identical += 1
                else:
                    errors.append(f"seed {seed}: the downloaded summary differs from the command line's")
            except Exception as exc:  # a timeout or a lost page: an error of this session
                errors.append(f"seed {seed}: {type(exc).__name__}: {str(exc)[:200]}")
    finally:
        for ctx in contexts:
            ctx.close()
    return {
        "sessions": sessions,
        "errors": errors,
        "identical": identical,
        "times": times,
        "cpu_per_session": (cpu_seconds(pids) - cpu0) / sessions,
        "rss_before": rss0,
        "rss_after": rss_mb(pids),
    }


def many_runs(browser, base: str, pids: list[int], runs: int) -> tuple[float, float, float]:
    """One session training ``runs`` runs (a new seed each); RSS before, after, and the seconds taken."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/optimizers?steps=1000&seed=5000&run=1")
    page.locator(TABLE).first.wait_for(timeout=120_000)
    page.wait_for_selector(IDLE)
    rss0, t0 = rss_mb(pids), time.perf_counter()
    seed_box = page.get_by_label("Seed", exact=True)
    for i in range(runs):
        seed_box.fill(str(5001 + i))
        seed_box.press("Enter")
        page.wait_for_timeout(150)
        page.wait_for_selector(IDLE)
        page.get_by_role("button", name="Train all", exact=True).click()
        page.wait_for_timeout(150)
        page.wait_for_selector(IDLE, timeout=120_000)
    seconds = time.perf_counter() - t0
    ctx.close()
    return rss0, rss_mb(pids), seconds


def report(name: str, r: dict) -> None:
    t = r["times"]
    spread = f"median {statistics.median(t):.1f} s, max {max(t):.1f} s" if t else "none finished"
    print(
        f"{name}: {r['sessions']} sessions, {len(r['errors'])} errors, {r['identical']}/{r['sessions']} CSVs "
        f"bit-identical to the command line; time to results {spread}; server CPU {r['cpu_per_session']:.2f} s "
        f"per session; server RSS {r['rss_before']:.0f} -> {r['rss_after']:.0f} MB"
    )
    for e in r["errors"]:
        print(f"  error: {e}")


def start_cluster(log_dir: Path, db: str) -> tuple[subprocess.Popen, str]:
    port = server.free_port()
    out = log_dir / "cluster.out"
    proc = subprocess.Popen(
        ["bash", str(ROOT / "deploy" / "cluster.sh"), "--replicas", "2", "--port", str(port), "--db", db],
        cwd=ROOT,
        env={**os.environ, "LAB_CLUSTER_LOGS": str(log_dir)},
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    server.wait_healthy(base, proc, out, timeout=120)
    return proc, base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=100, help="runs trained by one session (0: skip)")
    ap.add_argument("--no-cluster", action="store_true")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="the cluster's run store")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    tmp.chmod(0o755)  # --db postgres as root: the postgres user reaches its folder in here
    os.environ["LAB_DATA_DIR"] = str(tmp / "data")  # the servers' run store: the benchmark's own
    seeds = sorted({100 + (i % max(1, args.sessions - 2)) for i in range(args.sessions)})
    solo = {s: solo_summary(s, args.steps, tmp / f"solo{s}") for s in seeds}
    print(f"{len(seeds)} distinct configs trained solo by python -m lab compare ({args.steps} steps each)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=server.CHROMIUM_FLAGS)
        proc, base = server.start(tmp / "server.log")
        try:
            pids = app_processes(proc.pid)
            report("one server", class_at_once(browser, base, pids, args.sessions, args.steps, solo))
            if args.runs:
                before, after, seconds = many_runs(browser, base, pids, args.runs)
                verdict = "bounded" if after - before < 200 else "NOT bounded"
                print(
                    f"one session, {args.runs} runs in {seconds:.0f} s: server RSS {before:.0f} -> {after:.0f} MB "
                    f"(+{after - before:.0f} MB; target < 200 MB: {verdict})"
                )
        finally:
            server.stop(proc)
        if not args.no_cluster:
            (tmp / "cluster").mkdir()
            cproc, cbase = start_cluster(tmp / "cluster", args.db)
            try:
                time.sleep(1)
                pids = app_processes(cproc.pid)
                report(
                    f"cluster.sh, {len(pids)} replicas, {args.db}",
                    class_at_once(browser, cbase, pids, args.sessions, args.steps, solo),
                )
            finally:
                os.killpg(cproc.pid, signal.SIGTERM)
                cproc.wait(timeout=30)
        browser.close()


if __name__ == "__main__":
    main()
