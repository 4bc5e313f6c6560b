"""Driving ``deploy/cluster.sh`` from a test: start it on a free port (skipped with a reason where
HAProxy or PostgreSQL is absent, failed under ``REQUIRE_BROWSER=1`` as in CI), find the replica a
browser is on, wait for a killed replica to come back, and stop it all as Ctrl-C does."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from urllib.parse import urlparse

import appserver as server
import pytest
from app import open_tab, results_table
from conftest import ROOT
from playwright.sync_api import expect

COOKIE = "LABSERVER"  # HAProxy's sticky cookie (deploy/cluster.sh): its value names the replica
DISCONNECTED = "[data-testid=stApp]:not([data-test-connection-state=CONNECTED])"
CONNECTED = "[data-testid=stApp][data-test-connection-state=CONNECTED]"


def require(program: str, found: bool) -> None:
    if not found:
        msg = f"{program} not found (apt-get install -y {program}): CI installs it (.ci/run)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


def listening(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
    except OSError:
        return False
    return True


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
        found = re.search(rf"server {replica} 127\.0\.0\.1:(\d+)", cfg)
        assert found is not None, f"{replica} is not in haproxy.cfg"
        return int(found.group(1))

    def ports(self) -> list[int]:
        return [urlparse(self.base).port or 0, *(self.port(f"app{i}") for i in (1, 2))]

    def db_url(self) -> str:
        """The run store the replicas use: the LAB_DB cluster.sh gave them, else the SQLite file."""
        environ = Path(f"/proc/{self.pid('app1')}/environ").read_bytes().split(b"\0")
        given = [v.split(b"=", 1)[1].decode() for v in environ if v.startswith(b"LAB_DB=")]
        return given[0] if given else f"sqlite:///{self.data / 'runs.sqlite'}"

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C: nothing of the cluster may still answer or run afterwards."""
        ports = self.ports()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        time.sleep(0.5)
        assert not [p for p in ports if listening(p)], "a balancer or replica still answers after cluster.sh stopped"
        assert not (self.data / "postgres" / "data" / "postmaster.pid").exists(), "PostgreSQL still runs"


def start_cluster(logs: Path, *options: str, data: Path | None = None) -> Cluster:
    require("haproxy", shutil.which("haproxy") is not None)
    if "postgres" in options:
        require("postgresql", bool(shutil.which("initdb") or glob("/usr/lib/postgresql/*/bin/initdb")))
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


def replica(ctx) -> str:
    """The replica HAProxy's cookie keeps this browser context on."""
    return next(c["value"] for c in ctx.cookies() if c["name"] == COOKIE)


def pin(ctx, base: str, replica_name: str) -> None:
    """Send this browser context to one replica: the cookie HAProxy would have set (``insert indirect``)."""
    ctx.add_cookies([{"name": COOKIE, "value": replica_name, "url": base}])


def wait_back(cluster: Cluster, replica_name: str, killed: int, timeout: float = 120) -> None:
    """The replica answers again under a new pid (cluster.sh started it again)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster.pid(replica_name) != killed and listening(cluster.port(replica_name)):
            return
        time.sleep(0.2)
    raise AssertionError(f"{replica_name} did not come back in {timeout} s:\n{cluster.out[-2000:]}")


def stored_link(pg) -> str:
    """The short id of the run this page shows (its ``?r=`` link, from the history tab's caption)."""
    open_tab(pg, "Downloads & history")
    caption = pg.get_by_text("A link to this very run", exact=False).inner_text()
    found = re.search(r"\?r=([a-z0-9]{8})", caption)
    assert found is not None, caption
    return found.group(1)


def expect_stored_history(pg, trained: list[dict[str, str]], kept: int = 1) -> None:
    """A new session of this page (after a reconnect or a restart) shows its run from the store."""
    expect(pg.get_by_text("from this session's stored history", exact=False)).to_be_visible(timeout=60_000)
    assert results_table(pg) == trained
    open_tab(pg, "Downloads & history")
    expect(pg.get_by_text(f"Run history ({kept} kept)")).to_be_visible()
