"""Class: a teacher opens a room and projects its board; students join it with its code and a
nickname, and every run they train on the Optimizers page is posted to it.

The page, as its outline: the title (not in present mode, ``?present=1``), then for a teacher the
room's code and QR code, its controls and challenge, and the board refreshing by itself; for a
student the join form, or the room joined and the way to leave it. The Streamlit layer lives in
lab/ui/classroom; the rules, limits and board frames in lab/app/rooms.py and lab/app/classroom.py.
"""

from __future__ import annotations

import streamlit as st

from lab.app import archive, rooms
from lab.store import rooms as room_store
from lab.ui.classroom import board, context, student, style, teacher
from lab.ui.optimizers import present


def main() -> None:
    page = context.load()
    if page.present:
        present.style()
    else:
        st.title("Class")
    style.style(page.present)
    if page.store is None:
        st.warning(f"{archive.said(page.failure or 'unknown')} Rooms need it.", icon=":material/database:")
        return
    if page.teaching is not None:
        teach(page)
    else:
        learn(page)


def teach(page: context.ClassPage) -> None:
    assert page.teaching is not None and page.store is not None
    room = room_store.get(page.store, page.teaching.code)
    if room is None:
        st.session_state.pop(rooms.TEACHING, None)
        st.rerun()
    teacher.header(page, room)
    if not page.present:
        teacher.controls(page, room)
        teacher.challenge_form(page, room)
    board.board(room.code, page.present)


def learn(page: context.ClassPage) -> None:
    if page.member is not None:
        student.joined(page)
        return
    student.join_form(page)
    if not page.link_code:  # a join link is for students
        st.divider()
        teacher.start(page)


main()
