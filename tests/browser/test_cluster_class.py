"""The Class page through replicas, a crash and restarts (issue 22's proof), in Chromium.

Through ``deploy/cluster.sh --replicas 2 --db postgres``: a teacher on one replica and three students
on the other (HAProxy's cookie pins each browser). The teacher's page shows the room's code beside
the QR code of its join link. Each student joins from that link with a nickname (one in HTML, shown
as typed), trains (two from a training link, the last as a student clicks: the page's own link to
the Optimizers page, then Train all), and the run is on the teacher's board within 3 s of the
student seeing it, the teacher touching nothing (the times are printed). The replica
serving the students is killed: each student's page reconnects (to the other replica) and finds its
run in its stored history, and the teacher's board still counts every run, none doubled. Then the
whole cluster is restarted on the same data folder: the teacher takes the room up with its code and
key, and the board shows the three runs again; a student's own URL finds its history, and the run's
``?r=`` link opens it without training.

The same flow, without the kill, on one server as the README starts it (``streamlit run lab/Home.py``)
with the embedded SQLite default.
Selectors are mostly the widgets' keys (``st-key-class-…``), not their labels.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import appserver as server
import pytest
import sqlalchemy as sa
from app import board_line, click_and_wait, exceptions, open_page, results_table, wait_idle
from cluster import (
    CONNECTED,
    DISCONNECTED,
    Cluster,
    expect_stored_history,
    pin,
    replica,
    start_cluster,
    stored_link,
    wait_back,
)
from conftest import ARTIFACTS, keep_pages
from playwright.sync_api import expect

from lab import store as db
from lab.store.schema import ROOMS, RUNS

pytestmark = [pytest.mark.browser, pytest.mark.slow]
BOARD_WITHIN = 3.0  # seconds from a student's results to the run on the teacher's board
STUDENTS = ("Ada", "Grace", "<b>Edsger</b>")  # a nickname in HTML shows as typed
TEACHER_ON, STUDENTS_ON = "app1", "app2"  # the replicas the cookie pins them to
TABLE = "[data-testid=stTable] table tbody tr"


@dataclass(frozen=True)
class Deployment:
    """The app as the test reaches it: a cluster, or one server on a SQLite file."""

    base: str
    db_url: str
    stop: Callable[[], None]
    cluster: Cluster | None = None


def deploy(kind: str, data: Path, logs_name: str) -> Deployment:
    logs = ARTIFACTS / logs_name
    if kind == "postgres":
        running = start_cluster(logs, "--db", "postgres", data=data)
        return Deployment(running.base, running.db_url(), running.stop, running)
    proc, base = server.start(logs / "server.log", env={"LAB_DATA_DIR": str(data)})  # the README's launcher
    return Deployment(base, f"sqlite:///{data / 'runs.sqlite'}", lambda: server.stop(proc))


def in_store(url: str, query):
    """What the run store answers, read beside the app (the test's own connection)."""
    store = db.open(url)
    try:
        with store.engine.connect() as conn:
            return conn.execute(query).all()
    finally:
        store.close()


def token_of(pg) -> str:
    return parse_qs(urlparse(pg.url).query)["s"][0]


def open_room(teacher, base: str, url: str) -> tuple[str, str]:
    """The teacher opens a room; its code (the store's only room) and the teacher key the page shows."""
    open_page(teacher, base, "class")
    teacher.locator(".st-key-class-btn-open button").click()
    wait_idle(teacher)
    (code,) = (row.code for row in in_store(url, sa.select(ROOMS.c.code)))
    expect(teacher.locator("h2").filter(has_text=f"Room {code}")).to_have_count(1)  # the code, large
    expect(teacher.locator(".st-key-class-qr img")).to_have_count(1)  # beside the QR code of the join link
    teacher.get_by_role("button", name="Key", exact=True).click()  # the key is shown in its popover
    shown = teacher.locator("[data-testid=stPopoverBody] [data-testid=stCode] code").first
    shown.wait_for()
    key = shown.text_content().strip()
    teacher.keyboard.press("Escape")
    return code, key


class Frames:
    """Every WebSocket frame a page sends and receives from now on, timed, with the test's own notes,
    for a failure's artifacts: they tell a press the page never sent from one the server never answered."""

    def __init__(self, pg) -> None:
        self.t0, self.lines = time.monotonic(), []

        def watch(ws) -> None:
            self.note(f"open {ws.url}")
            ws.on("framesent", lambda payload: self.note(f"sent {len(payload)} B"))
            ws.on("framereceived", lambda payload: self.note(f"received {len(payload)} B"))
            ws.on("close", lambda _: self.note("closed"))

        pg.on("websocket", watch)

    def note(self, what: str) -> None:
        self.lines.append(f"{time.monotonic() - self.t0:8.3f} s  {what}")


def take_up(teacher, base: str, code: str, key: str, frames: Frames | None = None) -> None:
    """The teacher takes the room up again with its code and key (the page's resume form)."""
    open_page(teacher, base, "class")
    form = teacher.locator("[data-testid=stForm]:has(.st-key-class-btn-resume)")
    teacher.locator("[data-testid=stExpander]", has=form).locator("summary").click()
    form.locator("input[type=text]").fill(code)
    form.locator("input[type=password]").fill(key)
    if frames is not None:
        frames.note("pressing Take it up")
    form.locator(".st-key-class-btn-resume button").click()
    teacher.wait_for_timeout(100)
    wait_idle(teacher)


def join_and_train(pg, base: str, code: str, nickname: str, seed: int | None) -> str:
    """A student joins from the join link, then trains from a link with ``seed``; the session's token.
    With no seed, the way a student clicks: the Class page's own link to the Optimizers page, then
    Train all."""
    open_page(pg, base, f"class?room={code}")
    form = pg.locator("[data-testid=stForm]:has(.st-key-class-btn-join)")
    form.get_by_role("textbox", name="Nickname").fill(nickname)  # the code is filled in from the link
    form.locator(".st-key-class-btn-join button").click()
    pg.locator(".st-key-class-btn-leave").wait_for()  # joined: the way out of the room is shown
    wait_idle(pg)
    expect(pg.get_by_text(f"You are in room {code} as {nickname}.")).to_have_count(1)  # text, never markup
    token = token_of(pg)
    if seed is None:
        pg.get_by_role("link", name=re.compile("Train on the Optimizers page")).click()
        pg.wait_for_timeout(100)
        wait_idle(pg)
        expect(pg.get_by_text(f"Posting to room {code} as {nickname}", exact=True)).to_have_count(1)
        expect(pg.get_by_text("Ignored unknown parameter")).to_have_count(0)  # the link carries ?room=
        click_and_wait(pg, "Train all")
        expect(pg.get_by_text("Results — run #1")).to_have_count(1)
    else:
        pg.goto(f"{base}/optimizers?seed={seed}&run=1&s={token}")
        pg.locator(".st-key-class-posting").wait_for()  # "posting to room …"
    pg.locator(TABLE).first.wait_for(timeout=120_000)
    return token


def posted(url: str, code: str) -> tuple[int, int]:
    """(rows, distinct short ids) of the room's runs in the database."""
    (row,) = in_store(
        url, sa.select(sa.func.count(), sa.func.count(RUNS.c.short_id.distinct())).where(RUNS.c.room == code)
    )
    return row[0], row[1]


def kill_students_replica(up: Deployment, pages: list, trained: list) -> None:
    """The replica the students are on dies: each page reconnects and finds its run in the store."""
    cluster = up.cluster
    assert cluster is not None
    killed = cluster.pid(STUDENTS_ON)
    t0 = time.monotonic()
    os.kill(killed, signal.SIGKILL)
    pages[0].wait_for_selector(DISCONNECTED, timeout=30_000)
    for pg, rows in zip(pages, trained, strict=True):
        pg.wait_for_selector(CONNECTED, timeout=120_000)
        wait_idle(pg)
        expect_stored_history(pg, rows)
        assert exceptions(pg) == []
    reconnected = time.monotonic() - t0
    wait_back(cluster, STUDENTS_ON, killed)
    assert f"replica {STUDENTS_ON} (pid {killed}) exited with status 137" in cluster.out
    print(
        f"students' pages back with their history {reconnected:.1f} s after the kill; "
        f"{STUDENTS_ON} restarted after {time.monotonic() - t0:.1f} s"
    )


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
def test_a_class_keeps_its_board_through_a_crash_and_a_restart(browser, kind, data_folder):
    up = deploy(kind, data_folder, f"class-{kind}")
    contexts = []

    def context(on: str):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        ctx.set_default_timeout(30_000)
        pin(ctx, up.base, on)
        contexts.append(ctx)
        return ctx

    try:
        teacher = context(TEACHER_ON).new_page()
        code, key = open_room(teacher, up.base, up.db_url)
        pages, tokens, trained, took = [], [], [], []
        for n, nickname in enumerate(STUDENTS, start=1):
            pg = context(STUDENTS_ON).new_page()
            by_link = n == len(STUDENTS)  # the last one as a student clicks; the others from training links
            tokens.append(join_and_train(pg, up.base, code, nickname, seed=None if by_link else 300 + n))
            shown = time.monotonic()
            board_line(teacher, n).wait_for(timeout=BOARD_WITHIN * 1000 + 5_000)
            took.append(time.monotonic() - shown)
            wait_idle(pg)
            assert exceptions(pg) == [], nickname
            trained.append(results_table(pg))
            pages.append(pg)
        print(f"\n{kind}: each run on the teacher's board after " + ", ".join(f"{t:.2f} s" for t in took))
        assert max(took) <= BOARD_WITHIN, took
        if up.cluster is not None:
            assert [replica(ctx) for ctx in contexts] == [TEACHER_ON, *[STUDENTS_ON] * len(STUDENTS)]
            kill_students_replica(up, pages, trained)
        board_line(teacher, len(STUDENTS)).wait_for(timeout=10_000)  # every run, none doubled
        assert posted(up.db_url, code) == (len(STUDENTS), len(STUDENTS))
        assert exceptions(teacher) == []
        short_id = stored_link(pages[0])  # read after the crash: no tab opened before it
    except BaseException:
        kept(contexts, f"{kind}-before-restart")
        raise
    finally:
        for ctx in contexts:
            ctx.close()
        up.stop()

    again = deploy(kind, data_folder, f"class-{kind}-again")  # the whole cluster (or server), the same data
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    frames = None
    try:
        teacher = ctx.new_page()
        frames = Frames(teacher)
        take_up(teacher, again.base, code, key, frames)
        t0 = time.monotonic()
        board_line(teacher, len(STUDENTS)).wait_for()  # up to the context's 30 s, to see how late it came
        took = time.monotonic() - t0
        print(f"{kind}: after the restart, the board counted every run {took:.2f} s after the take-up")
        assert took <= 10, f"the board after the restart took {took:.1f} s"
        pg = ctx.new_page()
        open_page(pg, again.base, f"optimizers?seed=301&run=1&s={tokens[0]}")  # a student's own URL
        expect_stored_history(pg, trained[0])
        open_page(pg, again.base, f"optimizers?r={short_id}")  # the run's link opens without training
        pg.locator(TABLE).first.wait_for(timeout=60_000)
        assert results_table(pg) == trained[0]
        assert exceptions(teacher) == [] and exceptions(pg) == []
    except BaseException:
        kept([ctx], f"{kind}-after-restart")
        ctx.close()
        time.sleep(1)  # HAProxy logs a WebSocket when it closes: the teacher's, before the cluster stops
        if frames is not None:
            (ARTIFACTS / f"class-{kind}-after-restart-frames.txt").write_text("\n".join(frames.lines) + "\n")
        raise
    finally:
        ctx.close()
        again.stop()


def kept(contexts: list, name: str) -> None:
    """The pages as the failure left them (this test's own contexts, which the fixture's hook does not see)."""
    for i, ctx in enumerate(contexts):
        keep_pages(ctx, f"class-{name}-{i}")
