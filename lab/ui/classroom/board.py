"""The teacher's board: it redraws by itself every :data:`REFRESH` seconds (a fragment), from the
room's runs read again only when one was posted or cleared. The leaderboard, every loss curve, the
class's learning rate against result, and attempts per student. In present mode one projector
screen: the leaderboard in large type beside the charts, one tab each."""

from __future__ import annotations

import streamlit as st

from lab import store as db
from lab.app import archive, charts, classroom, rooms
from lab.app.keys import CLASS
from lab.app.present import presentable
from lab.store import rooms as room_store

REFRESH = 1.0  # seconds between two looks at the room (a look is one small query when nothing changed)
LEADERBOARD_CONFIG = {  # the student's name gets the room; the numbers are narrow
    "rank": st.column_config.NumberColumn("#", width=40),
    "student": st.column_config.TextColumn("student", width="medium"),
    "lr": st.column_config.NumberColumn("lr", format="%g", width=60),
    "attempts": st.column_config.NumberColumn("runs", width=50, help="Runs this student posted"),
}
PRESENT_PLOT = 200  # px: a chart's plot on a projector (1024 x 576: the code, the board and the axis on one screen)


@st.fragment(run_every=REFRESH)
def board(code: str, present: bool) -> None:
    store = archive.current()
    if store is None:
        return
    try:
        room = room_store.get(store, code)
        if room is None:
            st.warning(f"Room {code} is gone from the store.", icon=":material/error:")
            return
        built, key = rooms.board(store, room)
    except db.StoreError as exc:
        st.warning(f"The board cannot be read: {exc}. It tries again in a moment.", icon=":material/database:")
        return
    summary(built, room, present)
    if built.runs:
        (projected if present else draw)(built, key)


def summary(built: classroom.Board, room: room_store.Room, present: bool) -> None:
    """Runs, students, the room's state; the challenge in words on a projector (the teacher's view
    has it as the label of its form)."""
    state = "open" if room.is_open else "closed: no more joins or posts"
    hidden = " · names hidden" if room.names_hidden else ""
    runs, students = counted(built.runs, "run"), counted(built.students, "student")
    challenge = f" · {built.challenge.text()}" if present else ""
    st.markdown(f"**{runs}** from **{students}** · room {state}{hidden}{challenge}")
    if not built.runs:
        st.info(
            "No run yet: students join with the code, then train on the Optimizers page.",
            icon=":material/hourglass_top:",
        )


def counted(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def chart(key: tuple, name: str, build, present: bool) -> None:
    spec = charts.spec(("class", name, key, present), build)
    st.vega_lite_chart(spec=presentable(spec) if present else spec, width="stretch")


def sweep_title(built: classroom.Board) -> str:
    return f"Learning rate against {built.challenge.measure}"


def draw(built: classroom.Board, key: tuple) -> None:
    """Leaderboard and attempts beside each other, then the curves beside the class's sweep."""
    ranks, tries = st.columns([3, 2])
    with ranks, st.container(key=CLASS("leaderboard")):
        st.markdown("**Leaderboard**")
        st.dataframe(
            built.leaderboard,
            hide_index=True,
            width="stretch",
            height=min(420, 38 + 35 * len(built.leaderboard)),
            column_config=LEADERBOARD_CONFIG,
        )
    with tries:
        st.markdown("**Attempts per student**")
        chart(key, "attempts", lambda: charts.attempts_chart(built.attempts), False)
    curves, sweep = st.columns(2)
    with curves, st.container(key=CLASS("curves")):
        st.markdown("**Every loss curve** (a thin line per optimizer of each run)")
        chart(key, "curves", lambda: charts.class_curves_chart(built.curves), False)
    with sweep:
        st.markdown(f"**{sweep_title(built)}** (the class's own sweep)")
        scatter(built, key, False)


def scatter(built: classroom.Board, key: tuple, present: bool) -> None:
    if built.scatter.empty:
        st.caption("No run counts for the challenge yet.")
        return
    chart(
        key,
        "sweep",
        lambda: charts.class_sweep_chart(
            built.scatter, built.challenge.measure, PRESENT_PLOT if present else 260, legend_beside=present
        ),
        present,
    )


def projected(built: classroom.Board, key: tuple) -> None:
    """One projector screen: the leaderboard in large type beside the charts, a tab each (the
    curves first)."""
    ranks, right = st.columns([1, 1], gap="medium")
    with ranks, st.container(key=CLASS("leaderboard")):
        st.html(classroom.leaderboard_html(built.leaderboard))
    with right, st.container(key=CLASS("curves")):
        curves, sweep, tries = st.tabs(["Every loss curve", sweep_title(built), "Attempts"])
        with curves:
            chart(key, "curves", lambda: charts.class_curves_chart(built.curves, PRESENT_PLOT, True), True)
        with sweep:
            scatter(built, key, True)
        with tries:
            chart(key, "attempts", lambda: charts.attempts_chart(built.attempts), True)
