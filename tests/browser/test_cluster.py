"""Several app processes behind HAProxy (deploy/cluster.sh): each browser stays on its replica, and
a replica that dies is started again while its users carry on from the run store.

Three users open a training link through the balancer; each trains, downloads its summary CSV and,
after its connection drops and comes back, still finds its run in the history, all on the replica
the balancer's cookie names. Their results equal the engine's. Then, with the replicas on one SQLite
file: the replica serving a user is killed, the page reconnects and finds its history, and the
replica comes back. (The same crash with PostgreSQL, and the whole cluster restarted on its data
folder, a run then opening from its ``?r=`` link and a session's URL finding its history, are in
test_cluster_class.py; a restart on a SQLite file there too, as the README starts the app.)
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from app import exceptions, open_page, open_tab, results_table, wait_idle
from cluster import CONNECTED, DISCONNECTED, expect_stored_history, replica, start_cluster, wait_back
from conftest import ARTIFACTS
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


@pytest.fixture(scope="module")
def cluster():
    """The module's cluster, on a data folder of its own."""
    folder = Path(tempfile.mkdtemp(prefix="lab-cluster-"))
    try:
        running = start_cluster(ARTIFACTS / "cluster", data=folder)
        yield running
        running.stop()  # cluster.sh stops HAProxy and every replica
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_sessions_stay_on_their_replica_through_train_download_and_reconnect(new_context, cluster):
    seeds = (201, 202, 202)  # two users ask for the same run: each replica's cache is its own
    contexts = [new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True) for _ in seeds]
    for ctx in contexts:
        ctx.add_init_script(KEEP_SOCKETS)
    pages = [ctx.new_page() for ctx in contexts]
    for seed, pg in zip(seeds, pages, strict=True):
        open_page(pg, cluster.base, f"optimizers?seed={seed}&steps=300&run=1")
    replicas = []
    for seed, ctx, pg in zip(seeds, contexts, pages, strict=True):
        pg.locator("[data-testid=stTable] table tbody tr").first.wait_for(timeout=120_000)
        wait_idle(pg)
        assert exceptions(pg) == []
        replicas.append(replica(ctx))
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
    for ctx, pg, was in zip(contexts, pages, replicas, strict=True):
        pg.evaluate("() => window.__sockets.forEach((s) => s.close())")  # the connection drops …
        pg.wait_for_selector(DISCONNECTED, timeout=30_000)
        # … and the app reconnects by itself: the same session, on the same replica
        pg.wait_for_selector(CONNECTED, timeout=60_000)
        wait_idle(pg)
        assert replica(ctx) == was
        expect(pg.get_by_text("Run history (1 kept)")).to_be_visible()
        pg.get_by_role("button", name="Train all", exact=True).click()  # still served from its history
        wait_idle(pg)
        expect(pg.get_by_text("shown again from this session", exact=False)).to_be_visible()
        assert exceptions(pg) == []


TABLE = "[data-testid=stTable] table tbody tr"
LINK = "seed=203&steps=300&run=1"


def test_a_killed_replica_comes_back_and_its_user_keeps_the_history(new_context, cluster):
    """On the module's cluster (its replicas on one SQLite file; PostgreSQL's crash is
    test_cluster_class.py's): the replica serving a user is killed; the page reconnects to the run
    in the store, and the replica is started again."""
    ctx = new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    open_page(pg, cluster.base, f"optimizers?{LINK}")
    pg.locator(TABLE).first.wait_for(timeout=120_000)
    wait_idle(pg)
    trained = results_table(pg)
    serving = replica(ctx)
    killed = cluster.pid(serving)
    t0 = time.monotonic()
    os.kill(killed, signal.SIGKILL)  # a crash: no goodbye to the browser or the store
    pg.wait_for_selector(DISCONNECTED, timeout=30_000)
    pg.wait_for_selector(CONNECTED, timeout=120_000)  # Streamlit reconnects by itself …
    reconnected = time.monotonic() - t0
    wait_idle(pg)
    # … to a new session (on another replica, or the same one started again): the run from the store
    expect_stored_history(pg, trained)
    assert exceptions(pg) == []
    wait_back(cluster, serving, killed)
    back = time.monotonic() - t0
    assert f"replica {serving} (pid {killed}) exited with status 137" in cluster.out
    print(f"\npage reconnected {reconnected:.1f} s after the kill, {serving} back after {back:.1f} s")
