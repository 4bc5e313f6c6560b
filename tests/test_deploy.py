"""The deployment files (deploy/) agree with each other and with the run store, and cluster.sh
refuses a bad database choice before it starts anything. (They run for real in
tests/browser/test_cluster.py; the container and Kubernetes files cannot be built here.)"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def _cluster(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "LAB_DB"} | env
    return subprocess.run(
        ["bash", str(DEPLOY / "cluster.sh"), *args], capture_output=True, text=True, env=environ, timeout=30
    )


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (("--db", "mysql"), {}, "--db must be sqlite, postgres or env, got 'mysql'"),
        (("--db", "env"), {}, "--db env needs LAB_DB"),
        (("--replicas", "0"), {}, "outside [1, 32]"),
    ],
)
def test_cluster_sh_refuses_a_bad_choice_before_starting_anything(args, env, said):
    done = _cluster(*args, **env)
    assert done.returncode == 2
    assert said in done.stderr


def test_cluster_sh_help_names_every_database_choice():
    done = _cluster("--help")
    assert done.returncode == 0
    for word in ("--db sqlite", "--db postgres", "--db env", "--data", "Ctrl-C"):
        assert word in done.stdout


def _free_port(tmp_path, handed: list[str], given: str) -> subprocess.CompletedProcess:
    """cluster.sh's free_port alone, on a stand-in for Python that prints the next of ``handed`` at
    each call (an empty list: it fails), after ``given`` (the script's variables so far)."""
    left = tmp_path / "handed"
    left.write_text("".join(f"{p}\n" for p in handed))
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\n[ -s {left} ] || exit 3\nhead -1 {left}; sed -i 1d {left}\n")
    fake.chmod(0o755)
    source = DEPLOY.joinpath("cluster.sh").read_text()
    function = re.search(r"^free_port\(\) \{\n.*?^\}\n", source, re.M | re.S)
    assert function is not None
    script = f'set -euo pipefail\n{function.group(0)}python={fake}\n{given}\nfound=$(free_port)\necho "$found"\n'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)


def test_cluster_sh_never_gives_a_replica_a_port_already_given_out(tmp_path):
    """The "free" ports handed out are first the balancer's own port (not yet bound while the
    replicas start), then a replica's, then PostgreSQL's: free_port skips them all. (A replica once
    got the front port, answered the readiness check in HAProxy's place, and HAProxy could not bind.)"""
    done = _free_port(tmp_path, ["8080", "5001", "5002", "5003"], "port=8080\nports=(5001)\npgport=5002")
    assert (done.returncode, done.stdout.strip()) == (0, "5003"), done.stderr
    first = _free_port(tmp_path, ["8080", "5004"], 'port=8080\nports=()\npgport=""')  # the first call
    assert (first.returncode, first.stdout.strip()) == (0, "5004"), first.stderr


def test_cluster_sh_stops_when_python_cannot_pick_a_port(tmp_path):
    done = _free_port(tmp_path, [], 'port=8080\nports=()\npgport=""')
    assert done.returncode == 1 and "could not pick a free port" in done.stderr


def test_the_container_keeps_its_sqlite_file_in_its_volume():
    text = (DEPLOY / "Dockerfile").read_text()
    folder = re.search(r"LAB_DATA_DIR=(\S+)", text).group(1)
    assert re.search(rf"^VOLUME {re.escape(folder)}$", text, re.M)
    assert f"chown lab:lab {folder}" in text  # the app's user may write there


def test_the_image_is_built_without_this_checkouts_caches():
    """The build context is the repository: the checkout's bytecode, Numba's loops compiled for its
    CPU, its virtual environment and test artifacts stay out (the image compiles its own)."""
    lines = (DEPLOY.parent / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    copied = re.findall(r"^COPY (\S+)", (DEPLOY / "Dockerfile").read_text(), re.M)
    assert {"**/__pycache__", ".venv", ".git", "test-artifacts", ".streamlit/secrets.toml"} <= set(ignored)
    assert "lab" in copied  # … and lab/ is copied whole: without the file, lab/core/__pycache__ with it


def test_every_kubernetes_replica_reaches_the_database_the_manifest_defines():
    text = (DEPLOY / "kubernetes.yaml").read_text()
    url = re.search(r"^\s+LAB_DB: (\S+)$", text, re.M).group(1)
    password = re.search(r"^\s+POSTGRES_PASSWORD: (\S+)$", text, re.M).group(1)
    found = re.fullmatch(r"postgresql\+psycopg://(\w+):([^@]+)@([\w-]+):(\d+)/(\w+)", url)
    assert found is not None, url
    user, url_password, host, port, database = found.groups()
    assert url_password == password
    assert f"{{name: POSTGRES_USER, value: {user}}}" in text
    assert f"{{name: POSTGRES_DB, value: {database}}}" in text
    assert re.search(rf"kind: Service\nmetadata:\n  name: {host}\n", text)  # the host is the database's Service
    assert f"port: {port}" in text
    assert text.count("secretKeyRef: {name: optimizer-lab-db, key: LAB_DB}") == 1  # the app's Deployment
