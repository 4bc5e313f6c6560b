"""Several app processes behind HAProxy (deploy/cluster.sh): each browser stays on its replica, and
a replica that dies is started again while its users carry on from the run store.

Three users open a training link through the balancer; each trains, downloads its summary CSV and,
after its connection drops and comes back, still finds its run in the history, all on the replica
the balancer's cookie names. Their results equal the engine's. Then, with the replicas on one SQLite
file and on a PostgreSQL server of the cluster's own: the replica serving a user is killed, the page
reconnects and finds its history, the replica comes back, and after the whole cluster is restarted on
the same data folder the run still opens from its ``?r=`` link.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import appserver as server
import pandas as pd
import pytest
from app import exceptions, open_page, open_tab, results_table, wait_idle
from conftest import ARTIFACTS, ROOT
from playwright.sync_api import expect

from lab.core import engine
from lab.core.config import RunConfig

pytestmark = pytest.mark.browser
# Keep a handle on the page's WebSockets, so a test can drop the connection as a network would.
KEEP_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.__sockets.push(this); }
  };
})();
"""


def _require(program: str, found: bool) -> None:
    if not found:
        msg = f"{program} not found (apt-get install -y {program}): CI installs it (.ci/run)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


@dataclass(frozen=True)
class Cluster:
    """A running ``deploy/cluster.sh``: its balancer's URL, its logs (and the replicas' pid files)."""

    proc: subprocess.Popen
    base: str
    logs: Path
    data: Path

    @property
    def out(self) -> str:
        return (self.logs / "cluster.out").read_text()

    def pid(self, replica: str) -> int:
        return int((self.logs / f"{replica}.pid").read_text())

    def port(self, replica: str) -> int:
        cfg = (self.logs / "haproxy.cfg").read_text()
        return int(re.search(rf"server {replica} 127\.0\.0\.1:(\d+)", cfg).group(1))

    def ports(self) -> list[int]:
        return [int(urlparse(self.base).port), *(self.port(f"app{i}") for i in (1, 2))]

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C: nothing of the cluster may still answer or run afterwards."""
        ports = self.ports()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        time.sleep(0.5)
        assert not [p for p in ports if _listening(p)], "a balancer or replica still answers after cluster.sh stopped"
        assert not (self.data / "postgres" / "data" / "postmaster.pid").exists(), "PostgreSQL still runs"


def start_cluster(logs: Path, *options: str, data: Path | None = None) -> Cluster:
    _require("haproxy", shutil.which("haproxy") is not None)
    if "postgres" in options:
        _require("postgresql", bool(shutil.which("initdb") or glob("/usr/lib/postgresql/*/bin/initdb")))
    port = server.free_port()
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LAB_CLUSTER_LOGS": str(logs), "PYTHON": sys.executable}
    if data is not None:
        env["LAB_DATA_DIR"] = str(data)
    with (logs / "cluster.out").open("w") as out:
        proc = subprocess.Popen(
            ["bash", str(ROOT / "deploy" / "cluster.sh"), "--replicas", "2", "--port", str(port), *options],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_healthy(base, proc, logs / "cluster.out", timeout=180)
    except Exception:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        raise
    return Cluster(proc, base, logs, data or Path(os.environ["LAB_DATA_DIR"]))


@pytest.fixture(scope="module")
def cluster():
    running = start_cluster(ARTIFACTS / "cluster")
    yield running.base
    running.stop()  # cluster.sh stops HAProxy and every replica


def _listening(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
    except OSError:
        return False
    return True


def _replica(ctx) -> str:
    return next(c["value"] for c in ctx.cookies() if c["name"] == "LABSERVER")


def test_sessions_stay_on_their_replica_through_train_download_and_reconnect(browser, cluster, tmp_path):
    seeds = (201, 202, 202)  # two users ask for the same run: each replica's cache is its own
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True) for _ in seeds]
    for ctx in contexts:
        ctx.add_init_script(KEEP_SOCKETS)
    try:
        pages = [ctx.new_page() for ctx in contexts]
        for seed, pg in zip(seeds, pages, strict=True):
            open_page(pg, cluster, f"optimizers?seed={seed}&steps=300&run=1")
        replicas = []
        for seed, ctx, pg in zip(seeds, contexts, pages, strict=True):
            pg.locator("[data-testid=stTable] table tbody tr").first.wait_for(timeout=120_000)
            wait_idle(pg)
            assert exceptions(pg) == []
            replicas.append(_replica(ctx))
            shown = {r["optimizer"]: r for r in results_table(pg)}
            want = engine.run(RunConfig(seed=seed, steps=300))
            for lane in want.lanes:
                assert shown[lane.optimizer]["w"] == f"{lane.final_w:.6f}", (seed, lane.optimizer)
            open_tab(pg, "Downloads & history")
            with pg.expect_download() as info:  # the file lives in the replica's memory
                pg.get_by_role("button", name="Summary CSV", exact=True).click()
            summary = pd.read_csv(info.value.path())
            assert sorted(summary["optimizer"]) == sorted(lane.optimizer for lane in want.lanes)
            for _, row in summary.iterrows():
                lane = next(ln for ln in want.lanes if ln.optimizer == row["optimizer"])
                assert row["w"] == lane.final_w and row["b"] == lane.final_b  # bit for bit
        assert set(replicas) == {"app1", "app2"}, replicas  # the balancer spread the class out
        for ctx, pg, replica in zip(contexts, pages, replicas, strict=True):
            pg.evaluate("() => window.__sockets.forEach((s) => s.close())")  # the connection drops …
            pg.wait_for_selector("[data-testid=stApp]:not([data-test-connection-state=CONNECTED])", timeout=30_000)
            # … and the app reconnects by itself: the same session, on the same replica
            pg.wait_for_selector("[data-testid=stApp][data-test-connection-state=CONNECTED]", timeout=60_000)
            wait_idle(pg)
            assert _replica(ctx) == replica
            expect(pg.get_by_text("Run history (1 kept)")).to_be_visible()
            pg.get_by_role("button", name="Train all", exact=True).click()  # still served from its history
            wait_idle(pg)
            expect(pg.get_by_text("shown again from this session", exact=False)).to_be_visible()
            assert exceptions(pg) == []
    finally:
        for ctx in contexts:
            ctx.close()


TABLE = "[data-testid=stTable] table tbody tr"
DISCONNECTED = "[data-testid=stApp]:not([data-test-connection-state=CONNECTED])"
CONNECTED = "[data-testid=stApp][data-test-connection-state=CONNECTED]"
LINK = "seed=203&steps=300&run=1"


@pytest.fixture
def data_folder():
    """A data folder the postgres user can reach too (PostgreSQL refuses to run as root, and pytest's
    own temporary folders are closed to other users)."""
    folder = Path(tempfile.mkdtemp(prefix="lab-cluster-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _stored_link(pg) -> str:
    open_tab(pg, "Downloads & history")
    caption = pg.get_by_text("A link to this very run", exact=False).inner_text()
    return re.search(r"\?r=([a-z0-9]{8})", caption).group(1)


def _wait_back(cluster: Cluster, replica: str, killed: int, timeout: float = 120) -> None:
    """The replica answers again under a new pid (cluster.sh started it again)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster.pid(replica) != killed and _listening(cluster.port(replica)):
            return
        time.sleep(0.2)
    raise AssertionError(f"{replica} did not come back in {timeout} s:\n{cluster.out[-2000:]}")


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_a_killed_replica_comes_back_and_its_user_keeps_the_history_through_a_cluster_restart(browser, db, data_folder):
    logs = ARTIFACTS / f"cluster-{db}"
    running = start_cluster(logs, "--db", db, data=data_folder)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = ctx.new_page()
        open_page(pg, running.base, f"optimizers?{LINK}")
        pg.locator(TABLE).first.wait_for(timeout=120_000)
        wait_idle(pg)
        trained = results_table(pg)
        token = parse_qs(urlparse(pg.url).query)["s"][0]  # the session's token, kept in the URL
        short_id = _stored_link(pg)
        replica = _replica(ctx)
        killed = running.pid(replica)
        t0 = time.monotonic()
        os.kill(killed, signal.SIGKILL)  # a crash: no goodbye to the browser or the store
        pg.wait_for_selector(DISCONNECTED, timeout=30_000)
        pg.wait_for_selector(CONNECTED, timeout=120_000)  # Streamlit reconnects by itself …
        reconnected = time.monotonic() - t0
        wait_idle(pg)
        # … to a new session (on another replica, or the same one started again): the run from the store
        expect(pg.get_by_text("from this session's stored history", exact=False)).to_be_visible(timeout=30_000)
        assert results_table(pg) == trained
        open_tab(pg, "Downloads & history")
        expect(pg.get_by_text("Run history (1 kept)")).to_be_visible()
        assert exceptions(pg) == []
        _wait_back(running, replica, killed)
        back = time.monotonic() - t0
        assert f"replica {replica} (pid {killed}) exited with status 137" in running.out
        print(f"\n{db}: page reconnected {reconnected:.1f} s after the kill, {replica} back after {back:.1f} s")
    finally:
        ctx.close()
        running.stop()

    again = start_cluster(logs, "--db", db, data=data_folder)  # the whole cluster, on the same data folder
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = ctx.new_page()
        open_page(pg, again.base, f"optimizers?r={short_id}")  # opens without training
        pg.locator(TABLE).first.wait_for(timeout=60_000)
        assert results_table(pg) == trained
        open_page(pg, again.base, f"optimizers?{LINK}&s={token}")  # the session's own URL: its history
        expect(pg.get_by_text("from this session's stored history", exact=False)).to_be_visible(timeout=60_000)
        open_tab(pg, "Downloads & history")
        expect(pg.get_by_text("Run history (1 kept)")).to_be_visible()
        assert exceptions(pg) == []
    finally:
        ctx.close()
        again.stop()
