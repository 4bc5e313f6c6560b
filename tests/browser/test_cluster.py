"""Several app processes behind HAProxy (deploy/cluster.sh): each browser stays on its replica.

Three users open a training link through the balancer; each trains, downloads its summary CSV and,
after its connection drops and comes back, still finds its run in the history, all on the replica
the balancer's cookie names. Their results equal the engine's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request

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


@pytest.fixture(scope="module")
def cluster():
    if shutil.which("haproxy") is None:
        msg = "haproxy not found (apt-get install -y haproxy)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    port = server.free_port()
    logs = ARTIFACTS / "cluster"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / "cluster.out").open("w") as out:
        proc = subprocess.Popen(
            ["bash", str(ROOT / "deploy" / "cluster.sh"), "--replicas", "2", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "LAB_CLUSTER_LOGS": str(logs)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    server.wait_healthy(base, proc, logs / "cluster.out", timeout=120)
    yield base
    proc.send_signal(signal.SIGTERM)  # cluster.sh stops HAProxy and every replica
    proc.wait(timeout=30)
    time.sleep(0.5)
    assert not _listening(port), "the balancer still answers after cluster.sh was stopped"


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
