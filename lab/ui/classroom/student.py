"""A student's side: join a room with its code and a nickname, see where runs go, leave; and the
line on the Optimizers page saying which room its runs are posted to. A nickname is always drawn
as text (st.text, a table cell), never as Markdown or HTML."""

from __future__ import annotations

import streamlit as st

from lab import store as db
from lab.app import archive, rooms
from lab.app.classroom import Challenge
from lab.app.keys import CLASS
from lab.store import rooms as room_store
from lab.ui.classroom.context import ClassPage

OPTIMIZERS = "../pages/3_Optimizers.py"  # relative to the entrypoint


def join_form(page: ClassPage) -> None:
    """The code (filled in from a join link) and a nickname; joining says why when refused."""
    st.subheader("Join a class")
    with st.form(key=CLASS("join")):
        code = st.text_input("Room code", value=page.link_code, max_chars=64, placeholder="e.g. K7MQ")
        nickname = st.text_input(
            "Nickname",
            max_chars=200,  # long enough to say it is too long; the rule is LAB_MAX_NICKNAME
            help="The name the board shows for your runs: unique in the room. The teacher can hide names.",
        )
        pressed = st.form_submit_button("Join", type="primary", key=CLASS("btn.join"))
    if pressed and page.store is not None:
        join(page.store, code, nickname, page.token)


def join(store: db.Store, code: str, nickname: str, token: str) -> None:
    try:
        st.session_state[rooms.MEMBER] = rooms.join(store, code, nickname, token)
    except (ValueError, db.StoreError) as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.rerun()


def joined(page: ClassPage) -> None:
    """Where this student's runs go, the room's challenge, the way to train, and Leave."""
    member = page.member
    assert member is not None and page.store is not None
    room = room_store.get(page.store, member.code)
    st.subheader(f"Room {member.code}")
    st.text(f"You are in room {member.code} as {member.nickname}.")
    if room is None or not room.is_open:
        st.warning(f"Room {member.code} is closed: your runs are no longer posted to it.", icon=":material/lock:")
    else:
        st.info(Challenge.from_json(room.challenge).text(), icon=":material/flag:")
        st.page_link(
            OPTIMIZERS,
            label="Train on the Optimizers page: every run you train is posted here",
            icon=":material/speed:",
        )
    leave_button(page.store, page.token, CLASS("btn.leave"))


def leave_button(store: db.Store | None, token: str, key: str) -> None:
    if st.button("Leave the room", key=key, icon=":material/logout:"):
        leave(store, token)
        st.rerun()


def leave(store: db.Store | None, token: str) -> None:
    """Out of the room: runs are no longer posted, the nickname is free (runs posted stay on the board)."""
    member = st.session_state.pop(rooms.MEMBER, None)
    if member is not None and store is not None:
        try:
            room_store.leave(store, member.code, token)
        except db.StoreError as exc:
            st.toast(str(exc))


def posting_line() -> None:
    """On the Optimizers page: "Posting to room K7MQ as Ada", or that the room is closed, and Leave."""
    member = st.session_state.get(rooms.MEMBER)
    if member is None:
        return
    store = archive.current()
    with st.container(key=CLASS("posting")):
        words, button = st.columns([4, 1], vertical_alignment="center")
        if is_open(store, member.code):
            words.text(f"Posting to room {member.code} as {member.nickname}")
        else:
            words.text(f"Room {member.code} is closed: your runs are no longer posted to it.")
        with button:
            leave_button(store, st.session_state[archive.TOKEN], CLASS("btn.leave_here"))


def is_open(store: db.Store | None, code: str) -> bool:
    """Whether room ``code`` takes posts (one small query; a store that cannot say: assumed open,
    the post itself then says what went wrong)."""
    if store is None:
        return True
    try:
        room = room_store.get(store, code)
    except db.StoreError:
        return True
    return room is not None and room.is_open
