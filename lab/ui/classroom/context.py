"""What one rerun of the Class page knows, passed to the functions that draw it."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lab import store as db
from lab.app import archive, rooms
from lab.app.keys import CLASS

PRESENT = "present"  # the query parameter of present mode (as on the Optimizers page)
PRESENT_KEY = CLASS(PRESENT)  # its switch's key (lab/ui/classroom/teacher.py)
FALLBACK_URL = "http://localhost:8501/class"  # where st.context has no URL (a test)


@dataclass(frozen=True)
class ClassPage:
    store: db.Store | None  # None: the run store cannot be used (failure says why)
    failure: str | None
    token: str  # this browser session's token (lab/app/archive.py): a student's runs and membership
    teaching: rooms.Teaching | None
    member: rooms.Membership | None
    present: bool
    link_code: str  # the code a join link carried (?room=), as typed

    @property
    def url(self) -> str:
        """This page's address without its query: the base of the join link."""
        return (st.context.url or FALLBACK_URL).split("?")[0]


def load() -> ClassPage:
    state = st.session_state
    store, failure = archive.PROCESS.get()
    token = archive.token(state, st.query_params.to_dict())
    if st.query_params.get(archive.TOKEN_PARAM) != token:  # a reload finds the room this session joined
        st.query_params[archive.TOKEN_PARAM] = token
    rooms.restore(state, store, token)
    state[PRESENT_KEY] = st.query_params.get(PRESENT) == "1"  # the switch follows the URL (a reload keeps it)
    return ClassPage(
        store=store,
        failure=failure,
        token=token,
        teaching=state.get(rooms.TEACHING),
        member=state.get(rooms.MEMBER),
        present=st.query_params.get(PRESENT) == "1",
        link_code=str(st.query_params.get(rooms.JOIN_PARAM, ""))[:64],
    )
