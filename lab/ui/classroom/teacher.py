"""A teacher's side: open a room (or take one up again with its key), show its code and the QR code
of its join link, set the challenge, hide names, close and clear. The teacher key lives only in
this session's state; it is shown on request so that another tab can take the room up."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from lab import store as db
from lab.app import classroom, present, rooms
from lab.app.classroom import Challenge
from lab.app.keys import CLASS
from lab.core import optimizers
from lab.core.config import OBJECTIVES
from lab.store import rooms as room_store
from lab.ui.classroom.context import PRESENT, PRESENT_KEY, ClassPage

ANY = "any"


def join_link(page: ClassPage, code: str) -> str:
    return f"{page.url}?{urlencode({rooms.JOIN_PARAM: code})}"


def start(page: ClassPage) -> None:
    """Open a new room, or take one up with its code and teacher key."""
    st.subheader("Teach a class")
    st.caption("Open a room: students join it with its code, and every run they train lands on your board.")
    if st.button("Open a room", key=CLASS("btn.open"), icon=":material/co_present:"):
        assert page.store is not None
        try:
            st.session_state[rooms.TEACHING] = rooms.open_room(page.store, page.token)
        except (ValueError, db.StoreError) as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.rerun()
    with st.expander("Take up a room you opened in another tab"), st.form(key=CLASS("resume")):
        code = st.text_input("Room code", max_chars=64)
        key = st.text_input("Teacher key", type="password", max_chars=200)
        if st.form_submit_button("Take it up", key=CLASS("btn.resume")):
            resume(page, code, key)


def resume(page: ClassPage, code_text: str, key: str) -> None:
    assert page.store is not None
    try:
        code = rooms.clean_code(code_text)
        room_store.teacher(page.store, code, key, page.token)
    except (ValueError, db.StoreError) as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.session_state[rooms.TEACHING] = rooms.Teaching(code, key)
    st.rerun()


def header(page: ClassPage, room: room_store.Room) -> None:
    """The code in large type beside the QR code of the join link, and the Present switch."""
    link = join_link(page, room.code)
    qr, words = st.columns([1, 5], vertical_alignment="center")
    with qr, st.container(key=CLASS("qr")):
        st.image(present.qr_svg(link), width=140 if page.present else 120)
    with words:
        with st.container(key=CLASS("code")):
            st.markdown(f"## Room `{room.code}`" + ("" if room.is_open else " — closed"))
        join, switch = st.columns([3, 1], vertical_alignment="center")
        join.markdown(f"Join at **{link.split('://', 1)[-1]}**, or on the Class page with the code.")
        with switch:
            present_switch()


def present_switch() -> None:
    """Present mode on and off; the URL follows (``?present=1``: a reload keeps it, the session's
    token in the URL keeps the room)."""
    st.toggle(
        "Present",
        key=PRESENT_KEY,
        on_change=present_switched,
        help="For a projector: no sidebar, title or controls; the code, the leaderboard and the charts on one "
        "screen, in larger type. The link with `?present=1` opens the page this way.",
    )


def present_switched() -> None:
    if st.session_state.get(PRESENT_KEY):
        st.query_params[PRESENT] = "1"
    else:
        st.query_params.pop(PRESENT, None)


def controls(page: ClassPage, room: room_store.Room) -> None:
    """Hide names, close, clear, the teacher key, and stop teaching here: one row of short labels
    (each says more on hover), wrapping on a narrow screen rather than cutting its labels."""
    teaching = page.teaching
    assert teaching is not None and page.store is not None
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key=CLASS("controls")):
        st.session_state.setdefault(CLASS("hide"), room.names_hidden)  # the widget's value: its key's, kept
        hidden = st.toggle("Hide names", key=CLASS("hide"), help="Students show as Student 1, Student 2, …")
        if hidden != room.names_hidden:
            act(lambda: room_store.hide_names(page.store, room.code, teaching.key, hidden))
        if st.button(
            "Close",
            key=CLASS("btn.close"),
            disabled=not room.is_open,
            icon=":material/lock:",
            help="Close the room: no more joins or posts; the board stays.",
        ):
            act(lambda: room_store.close(page.store, room.code, teaching.key))
        with st.popover("Clear", icon=":material/delete_sweep:", help="Clear the board"):
            st.caption("Every run leaves the board (each stays in its student's history).")
            if st.button("Clear every run", key=CLASS("btn.clear"), type="primary"):
                act(lambda: room_store.clear(page.store, room.code, teaching.key))
        with st.popover("Key", icon=":material/key:", help="The teacher key: takes the room up in another tab"):
            key_shown(teaching)
        if st.button(
            "Stop",
            key=CLASS("btn.done"),
            icon=":material/logout:",
            help="Stop teaching here: this tab forgets the room; the room stays as it is.",
        ):
            act(lambda: rooms.stop_teaching(st.session_state, page.store, page.token))


def key_shown(teaching: rooms.Teaching) -> None:
    if teaching.key_known:
        st.caption("With the code, it takes the room up in another tab. Never put it in a link.")
        st.code(teaching.key, language=None)
    else:
        st.caption("This tab found the room again by its session; the key was shown in the tab that opened it.")


def act(change) -> None:
    try:
        change()
    except (ValueError, db.StoreError) as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.rerun()


def challenge_form(page: ClassPage, room: room_store.Room) -> None:
    """Set the challenge (problem, optimizers, step budget, measure) or leave the room open."""
    teaching = page.teaching
    assert teaching is not None and page.store is not None
    now = Challenge.from_json(room.challenge)
    with st.expander(now.text(), expanded=False, icon=":material/flag:"), st.form(key=CLASS("challenge")):
        problem = st.selectbox("Problem", [ANY, *OBJECTIVES], index=[ANY, *OBJECTIVES].index(now.problem or ANY))
        names = optimizers.registry().names()
        chosen = st.multiselect("Optimizers (none: any)", names, default=[n for n in now.optimizers if n in names])
        budget = st.number_input("Step budget (0: any)", 0, 1_000_000, value=now.steps or 0, step=100)
        measure = st.radio(
            "What counts", classroom.MEASURES, index=classroom.MEASURES.index(now.measure), horizontal=True
        )
        set_it, open_it = st.columns(2)
        if set_it.form_submit_button("Set the challenge", type="primary", key=CLASS("btn.challenge")):
            new = Challenge(
                problem=None if problem == ANY else problem,
                optimizers=tuple(chosen),
                steps=int(budget) or None,
                measure=measure,
            )
            act(lambda: room_store.set_challenge(page.store, room.code, teaching.key, new.to_json()))
        if open_it.form_submit_button("Leave it open", key=CLASS("btn.open_challenge")):
            act(lambda: room_store.set_challenge(page.store, room.code, teaching.key, None))
