"""The run store (lab/store) against SQLite always, and against PostgreSQL where its server is
installed (a private one started for the session: initdb in a temporary folder, no system service);
and the Optimizers page's use of it (lab/app/archive.py): a session's history survives a new
session with the same token, and ``?r=`` opens a stored run without training."""

from __future__ import annotations

import base64
import json
import multiprocessing
import threading
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from apptest_helpers import open_page, open_tab
from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext

from lab import store
from lab.app import archive, runs, view
from lab.core import caches, engine
from lab.core.config import DataConfig, OptimizerConfig, RunConfig, SchedulerConfig
from lab.core.results import summary_rows
from lab.store import codec, schema
from lab.ui.optimizers import reconnect

SHORT = RunConfig(steps=40, seed=5)
TOKEN_A, TOKEN_B = "a" * 22, "b" * 22


@pytest.fixture(scope="module")
def short_run():
    return engine.run(SHORT)


@pytest.fixture
def db(url):
    opened = store.open(url)
    yield opened
    opened.close()


# ------------------------------------------------------------------------------------------ the store
def _same_lanes(a, b) -> None:
    assert len(a.lanes) == len(b.lanes)
    for x, y in zip(a.lanes, b.lanes, strict=True):
        for name in ("loss", "w", "b"):
            assert np.array_equal(getattr(x, name), getattr(y, name), equal_nan=True), (x.optimizer, name)
        assert np.array_equal(x.rates(), y.rates(), equal_nan=True)
        assert (x.optimizer, x.status, x.steps_to_tol, x.first_within, x.diverged_at, x.seconds) == (
            y.optimizer,
            y.status,
            y.steps_to_tol,
            y.first_within,
            y.diverged_at,
            y.seconds,
        )


def test_a_run_round_trips_with_equal_numbers(db, short_run):
    sid = db.save(short_run, session=TOKEN_A, seq=3)
    got = db.get(sid)
    assert store.valid_short_id(sid) and (got.session, got.seq, got.room) == (TOKEN_A, 3, None)
    assert got.result.config == short_run.config and got.asked is None
    _same_lanes(short_run, got.result)
    assert np.array_equal(short_run.x, got.result.x) and np.array_equal(short_run.y, got.result.y)
    assert (got.result.optimum, got.result.min_loss) == (short_run.optimum, short_run.min_loss)
    assert json.dumps(summary_rows(got.result)) == json.dumps(summary_rows(short_run))
    with db.engine.connect() as conn:
        kept = conn.execute(sa.select(schema.RUNS.c.summary, schema.RUNS.c.dataset_hash)).one()
    assert json.loads(kept.summary) == json.loads(json.dumps(summary_rows(short_run))) and kept.dataset_hash is None


def test_a_long_run_keeps_the_charted_points_exactly_and_every_final_value():
    cfg = RunConfig(steps=5_000, optimizers=(OptimizerConfig("SGD"), OptimizerConfig("Adam")), seed=2)
    res = engine.run(cfg)
    summary, curves = codec.encode(res)
    got = codec.decode(cfg.to_json(), curves)
    for lane, back, kept in zip(res.lanes, got.lanes, json.loads(curves)["lanes"], strict=True):
        steps = np.frombuffer(base64.b64decode(kept["steps"]), "<i4")
        assert len(steps) <= codec.LANE_POINTS < len(lane.loss) == len(back.loss)
        assert np.array_equal(lane.loss[steps], back.loss[steps]) and np.array_equal(lane.w[steps], back.w[steps])
        assert (back.final_loss, back.final_w, back.status) == (lane.final_loss, lane.final_w, lane.status)
    assert json.loads(summary) == json.loads(json.dumps(summary_rows(res)))


def test_a_diverged_and_scheduled_run_round_trips():
    cfg = RunConfig(
        steps=60,
        optimizers=(
            OptimizerConfig("GD").with_hyperparams(lr=10.0),
            OptimizerConfig("Adam", scheduler=SchedulerConfig.parse("StepLR:step_size=10,gamma=0.5")),
        ),
    )
    res = engine.run(cfg)
    assert res.lanes[0].diverged_at is not None and res.lanes[1].lr is not None
    _same_lanes(res, codec.decode(cfg.to_json(), codec.encode(res)[1]))


def test_history_is_per_token_newest_last_and_bounded(db, short_run):
    ids = [db.save(short_run, session=TOKEN_A, seq=i) for i in range(1, 6)]
    db.save(short_run, session=TOKEN_B, seq=1)
    assert [r.seq for r in db.history(TOKEN_A, 3)] == [3, 4, 5]
    assert [r.short_id for r in db.history(TOKEN_A, 50)] == ids
    assert [r.session for r in db.history(TOKEN_B, 50)] == [TOKEN_B]
    assert db.history("c" * 22, 50) == []
    assert db.forget(TOKEN_A, ids[-2:]) == 2 and [r.seq for r in db.history(TOKEN_A, 3)] == [1, 2, 3]
    assert db.get(ids[-1]).session is None  # out of the history, still behind its link


def test_an_unknown_id_is_none_and_a_malformed_one_a_value_error(db):
    assert db.get("abcdefgh") is None
    for bad in ("", "ABCDEFGH", "abc", "abcdefgh'; DROP TABLE runs; --", "0o1liabc", "ab<b>cde"):
        with pytest.raises(ValueError, match="not a run's id"):
            db.get(bad)
    assert db.count() == 0


def test_concurrent_saves_from_threads_are_each_kept_once(db, short_run):
    threads, per_thread, errors = 8, 5, []

    def save(k: int) -> None:
        try:
            for i in range(per_thread):
                db.save(short_run, session=f"{k:022d}", seq=i)
        except Exception as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=save, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert db.count() == threads * per_thread
    for k in range(threads):
        assert [r.seq for r in db.history(f"{k:022d}", 50)] == list(range(per_thread))


def _save_from_a_process(url: str, result, k: int, runs: int, start, failures) -> None:
    """One server process of a cluster: its own store (own connections), saving ``runs`` runs."""
    try:
        opened = store.open(url)
        start.wait(timeout=60)  # every process writes at once
        for i in range(runs):
            opened.save(result, session=f"{k:022d}", seq=i)
        opened.close()
    except Exception as exc:  # reported by the test
        failures.put(repr(exc))


@pytest.mark.slow
def test_concurrent_saves_from_processes_sharing_the_database_are_each_kept_once(url, short_run):
    """Replicas of deploy/cluster.sh write one SQLite file (WAL, writers queue) or one PostgreSQL."""
    mp = multiprocessing.get_context("fork")  # the test's modules inherited: no second import of torch
    processes, per_process = 4, 10
    store.open(url).close()  # the schema made once, as the first replica to start does
    start, failures = mp.Barrier(processes), mp.Queue()
    workers = [
        mp.Process(target=_save_from_a_process, args=(url, short_run, k, per_process, start, failures))
        for k in range(processes)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * processes
    assert failures.empty(), failures.get()
    opened = store.open(url)
    try:
        assert opened.count() == processes * per_process
        for k in range(processes):
            assert [r.seq for r in opened.history(f"{k:022d}", 50)] == list(range(per_process))
    finally:
        opened.close()


# ------------------------------------------------------------------------------------------ schema
def test_the_default_store_is_a_wal_file_in_the_data_folder_created_on_first_start(tmp_path):
    environ = {"LAB_DATA_DIR": str(tmp_path / "lab-data")}
    assert store.default_url(environ) == f"sqlite:///{tmp_path / 'lab-data' / 'runs.sqlite'}"
    assert store.default_url({**environ, "LAB_DB": " postgresql+psycopg://h/db "}) == "postgresql+psycopg://h/db"
    assert store.data_dir({"HOME": "/x", "XDG_DATA_HOME": "/xdg"}) == Path("/xdg/optimizer-lab")
    opened = store.open(store.default_url(environ))
    with opened.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    opened.close()
    assert (tmp_path / "lab-data" / "runs.sqlite").is_file()


def test_an_empty_database_is_created_at_the_latest_version(url):
    opened = store.open(url)
    assert opened.version() == schema.LATEST == len(schema.STEPS) and opened.count() == 0
    opened.close()
    again = store.open(url)  # opening again changes nothing
    assert again.version() == schema.LATEST
    again.close()


def test_a_version_1_database_is_upgraded_with_its_runs_kept(url, short_run):
    engine_ = sa.create_engine(url)
    with engine_.begin() as conn:
        assert schema.upgrade(conn, target=1) == 0
        v1 = sa.Table("runs", sa.MetaData(), *schema.run_columns_v1())
        summary, curves = codec.encode(short_run)
        conn.execute(
            sa.insert(v1).values(
                short_id="abcdefgh",
                session=TOKEN_A,
                seq=1,
                created_at=sa.func.now(),
                objective="regression",
                config=short_run.config.to_json(),
                summary=summary,
                curves=curves,
            )
        )
        assert schema.version(conn) == 1
    engine_.dispose()
    opened = store.open(url)
    assert opened.version() == schema.LATEST
    old = opened.get("abcdefgh")
    assert old.room is None and old.session == TOKEN_A
    _same_lanes(short_run, old.result)
    posted = opened.get(opened.save(short_run, room="ROOM42", nickname="Ada"))
    assert (posted.room, posted.nickname) == ("ROOM42", "Ada")
    opened.close()


def test_a_database_from_a_newer_lab_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    store.open(url).close()
    engine_ = sa.create_engine(url)
    with engine_.begin() as conn:
        conn.execute(sa.update(schema.VERSION).values(version=schema.LATEST + 1))
    engine_.dispose()
    with pytest.raises(store.StoreError, match="knows up to"):
        store.open(url)


# ------------------------------------------------------------------------------------------ failures
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # port 1: refused at once


def test_a_store_it_cannot_reach_or_create_is_a_store_error(tmp_path):
    with pytest.raises(store.StoreError, match=r"127\.0\.0\.1"):
        store.open(UNREACHABLE)
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(store.StoreError, match="cannot be opened"):
        store.open(f"sqlite:///{tmp_path / 'file' / 'runs.sqlite'}")
    with pytest.raises(store.StoreError, match="not a database URL"):
        store.open("no such thing")


def test_a_write_it_cannot_make_is_a_store_error_and_nothing_half_written(tmp_path, monkeypatch, short_run):
    monkeypatch.setattr(store, "BUSY_SECONDS", 0.2)
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    opened = store.open(url)
    blocker = sa.create_engine(url).connect()
    blocker.exec_driver_sql("BEGIN EXCLUSIVE")  # another writer that never lets go
    with pytest.raises(store.StoreError, match="cannot write a run"):
        opened.save(short_run, session=TOKEN_A, seq=1)
    blocker.rollback()
    blocker.close()
    assert opened.count() == 0 and opened.history(TOKEN_A) == []
    opened.save(short_run, session=TOKEN_A, seq=1)
    assert opened.count() == 1
    opened.close()


@pytest.fixture
def process_store(tmp_path):
    """The process's store (lab/app/archive.py) in a fresh file of this test's."""
    archive.reset(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    yield archive
    archive.reset()


def test_without_a_store_training_goes_on_and_the_notice_is_said_once(engine_calls):
    archive.reset(UNREACHABLE)
    try:
        session = archive.session_store(TOKEN_A, 10)
        assert session.entries == {} and "Runs are not being saved" in session.keeper.notice
        session.keeper.notice = None  # said
        entry, _, source = runs.fetch_or_train(session, RunConfig(steps=30, seed=91), shared=caches.LRU(2))
        assert source == "trained" and len(engine_calls) == 1 and entry.short_id is None
        assert session.keeper.notice is None  # the same failure is not said twice
    finally:
        archive.reset()


def test_a_session_store_writes_new_runs_and_reads_them_back(process_store, engine_calls):
    first = archive.session_store(TOKEN_A, 10)
    for seed in (1, 2):
        runs.fetch_or_train(first, RunConfig(steps=20, seed=seed), shared=caches.LRU(2))
    first.delete([1])
    again = archive.session_store(TOKEN_A, 10)
    assert [(e.run_id, e.source) for e in again.entries.values()] == [(2, "stored")]
    assert again.next_id == 3
    _, _, source = runs.fetch_or_train(again, RunConfig(steps=20, seed=2), shared=caches.LRU(2))
    assert source == "session" and len(engine_calls) == 2  # found in the history read back: not trained
    assert archive.session_store(TOKEN_B, 10).entries == {}


def test_a_link_names_a_stored_run_or_gets_a_notice(process_store, short_run):
    sid = archive.current().save(short_run)
    assert archive.linked(sid.upper()).short_id == sid
    with pytest.raises(ValueError, match="No stored run"):
        archive.linked("abcdefgh" if sid != "abcdefgh" else "abcdefgk")
    with pytest.raises(ValueError, match="8 letters and digits"):
        archive.linked("<script>alert(1)</script>")


# ------------------------------------------------------------------------------------------ the page
LINK = {"opt": "GD,Adam", "steps": "40", "seed": "12", "run": "1"}


def test_a_sessions_history_survives_a_new_session_with_its_token(process_store, engine_calls, fresh_shared_cache):
    at = open_page("optimizers", {**LINK, "s": TOKEN_A})
    assert not at.exception and len(engine_calls) == 1
    assert at.query_params["s"] == TOKEN_A  # kept beside the run's settings
    (entry,) = at.session_state["opt.store"].entries.values()
    assert TOKEN_A not in at.text_input(key="opt.share_link").value
    stored_link = " ".join(c.value for c in open_tab(at, view.DOWNLOADS).caption)
    assert f"?r={entry.short_id}`" in stored_link and TOKEN_A not in stored_link
    archive.reset(process_store.PROCESS.url)  # a server restart: the process's store and cache are new
    runs.SHARED.clear()
    again = open_page("optimizers", {**LINK, "s": TOKEN_A})  # a reload: same URL, a new session
    assert not again.exception and len(engine_calls) == 1  # shown from the stored history
    (kept,) = again.session_state["opt.store"].entries.values()
    assert (kept.short_id, kept.source) == (entry.short_id, "stored")
    other = open_page("optimizers", {"s": TOKEN_B})
    assert other.session_state["opt.store"].entries == {}


@pytest.fixture
def auto_reruns(monkeypatch):
    """The intervals of the fragments that ask the browser to rerun them by themselves (``run_every``)."""
    asked = []
    real = ScriptRunContext.enqueue

    def spying(ctx, msg):
        if msg.HasField("auto_rerun"):
            asked.append(msg.auto_rerun.interval)
        real(ctx, msg)

    monkeypatch.setattr(ScriptRunContext, "enqueue", spying)
    return asked


def test_the_optimizers_page_has_a_fragment_that_reruns_itself_so_a_reconnect_reruns_the_page(
    process_store, auto_reruns
):
    """Streamlit's frontend reruns a reconnected page (its server gone: a new, empty session) only when
    the page has such a fragment; without it the page is not rebuilt from its ?s= token."""
    open_page("optimizers", {**LINK, "s": TOKEN_A})
    assert auto_reruns == [reconnect.EVERY]
    auto_reruns.clear()
    open_page("autograd")  # the other pages as they were
    assert auto_reruns == []


def test_a_link_to_a_stored_run_opens_it_without_training(process_store, engine_calls, fresh_shared_cache):
    res = engine.run(RunConfig(steps=40, seed=13, data=DataConfig(noise=0.1)))
    sid = archive.current().save(res)
    engine_calls.clear()
    at = open_page("optimizers", {"r": sid})
    assert not at.exception and engine_calls == []
    assert any(h.value.startswith("Results — run #1") for h in at.subheader)
    assert "stored run opened from its link" in " ".join(c.value for c in at.caption)
    assert at.session_state["opt.store"].entries[res.config.to_json()].short_id == sid
    for bad, notice in (("zzzzzzzz", "No stored run"), ("'; DROP TABLE runs; --", "letters and digits")):
        page = open_page("optimizers", {"r": bad})
        assert not page.exception and engine_calls == []
        assert any(notice in w.value for w in page.warning)
