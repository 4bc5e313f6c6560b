"""The pages' side of class rooms (lab/store/rooms.py): the rules a room code and a nickname follow,
who a session is in a room (a student's membership, a teacher's key — both only in its session
state), posting a run, the board built once per change of the room, and what to say when refused.

Every rule and limit has its variable (lab/app/limits.py) and its message; names are shown as
text by the pages (never Markdown or HTML).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from lab import store as db
from lab.app import classroom, limits
from lab.app.keys import SHARED
from lab.core import caches
from lab.core.results import RunResult
from lab.store import rooms, schema
from lab.store.rooms import CODE_ALPHABET, RoomError

JOIN_PARAM = "room"  # the join link: the Class page with ?room=CODE
MEMBER = SHARED("room.member")  # session state: a student's Membership
TEACHING = SHARED("room.teaching")  # session state: a teacher's Teaching (the key never leaves it)
MIN_CODE = 4
REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")  # control, invisible, unassigned; line breaks


@dataclass(frozen=True)
class Membership:
    code: str
    nickname: str


@dataclass(frozen=True)
class Teaching:
    code: str
    key: str  # the teacher key: only in the teacher's session, never in a link; or the session's token
    key_known: bool = True  # False: found again by the session's token (a reload), the key is not known here


def clean_code(text: object) -> str:
    """A typed room code as the store keeps it (upper case; spaces and dashes dropped); ValueError
    saying what a code is."""
    code = re.sub(r"[\s-]", "", str(text or "")).upper()
    longest = schema.ROOM  # codes drawn by any setting of LAB_MAX_ROOM_CODE
    if not code:
        raise ValueError("Type the room's code: the letters and digits your teacher shows.")
    if not MIN_CODE <= len(code) <= longest:
        raise ValueError(f"A room code has {MIN_CODE} to {longest} letters and digits; this one has {len(code):,}.")
    if any(c not in CODE_ALPHABET for c in code):  # what was typed is not repeated: messages are Markdown
        raise ValueError("That is not a room code: codes use only the letters A–Z and digits 2–9 (no 0, O, 1, I or L).")
    return code


def clean_nickname(text: object, lim: limits.Limits | None = None) -> str:
    """A typed nickname as kept (NFC, outer spaces dropped, inner runs of spaces as one); ValueError
    when it is empty, too long (``LAB_MAX_NICKNAME``) or holds control or invisible characters
    (right-to-left overrides, zero-width joiners). Letters of any script, digits, punctuation,
    symbols and emoji are fine; they are shown as text."""
    most = (lim or limits.LIMITS).nickname
    name = " ".join(unicodedata.normalize("NFC", str(text or "")).split())
    if not name:
        raise ValueError("Choose a nickname: the name the board shows for your runs.")
    if len(name) > most:
        raise ValueError(
            f"A nickname has at most {most} characters here ({limits.variable('nickname')}); "
            f"this one has {len(name):,}."
        )
    bad = [f"U+{ord(c):04X}" for c in name if unicodedata.category(c) in REFUSED_CATEGORIES]
    if bad:
        raise ValueError(
            f"A nickname cannot hold control or invisible characters (here {', '.join(bad[:3])}); "
            "letters, digits, spaces, punctuation and emoji are fine."
        )
    return name


def said(err: RoomError) -> str:
    """What to tell the person a room refused: the reason, and for a limit its variable."""
    text = str(err)
    if err.kind == "rooms":
        return f"{text} Close a room no longer in use, or raise the limit ({limits.variable('rooms')})."
    if err.kind == "room_runs":
        return f"{text} The teacher can clear it ({limits.variable('room_runs')} sets the limit)."
    if err.kind == "rate":
        return (
            f"{text} This server takes {err.limit} a minute from each student "
            f"({limits.variable('posts_per_minute')}): wait a little before the next."
        )
    return text


def post_limits(lim: limits.Limits | None = None) -> rooms.PostLimits:
    lim = lim or limits.LIMITS
    return rooms.PostLimits(runs=lim.room_runs, per_minute=lim.posts_per_minute)


def open_room(store: db.Store, session: str) -> Teaching:
    """A new room for the teacher of browser session ``session`` (a reload finds it again by the
    session's token); ValueError with the message when refused."""
    try:
        room, key = rooms.open_room(store, limits.LIMITS.room_code, limits.LIMITS.rooms, session)
    except RoomError as err:
        raise ValueError(said(err)) from None
    return Teaching(room.code, key)


def join(store: db.Store, code_text: object, nickname_text: object, session: str) -> Membership:
    """``session`` joins the room a student typed, under the nickname typed; ValueError with the
    message when a rule or the room refuses."""
    code, nickname = clean_code(code_text), clean_nickname(nickname_text)
    try:
        rooms.join(store, code, nickname, session)
    except RoomError as err:
        raise ValueError(said(err)) from None
    return Membership(code, nickname)


CHECKED = SHARED("room.checked")  # session state: whether the store was asked which room this session is in


def restore(state, store: db.Store | None, token: str) -> Membership | None:
    """The session's membership: from its state, else (once per session) from the store by its token —
    a reload or another replica finds the room the browser joined, or the room its teacher holds."""
    if MEMBER in state or TEACHING in state or state.get(CHECKED) or store is None:
        return state.get(MEMBER)
    state[CHECKED] = True
    try:
        found, taught = rooms.member_of(store, token), rooms.taught_by(store, token)
    except db.StoreError:
        return None
    if found is not None:
        state[MEMBER] = Membership(*found)
    if taught is not None:
        state[TEACHING] = Teaching(taught, token, key_known=False)
    return state.get(MEMBER)


def stop_teaching(state, store: db.Store | None, token: str) -> None:
    """This session no longer holds its room (a reload will not find it); the room stays as it is."""
    teaching = state.pop(TEACHING, None)
    if teaching is not None and store is not None:
        rooms.stop_teaching(store, teaching.code, token)


def post(store: db.Store, result: RunResult, member: Membership, session: str, seq: int, asked=None) -> str:
    """Post a student's new run to their room; its short id. RoomError when refused (nothing written)."""
    return rooms.post(
        store,
        result,
        code=member.code,
        nickname=member.nickname,
        session=session,
        seq=seq,
        asked=asked,
        limits=post_limits(),
    )


def refused(err: RoomError, member: Membership) -> str:
    """The notice on the student's page: why the run is not on the board, and where it is."""
    return f"This run was not posted to room {member.code}: {said(err)} It is in your history."


BOARDS = caches.LRU(32, name="class boards")  # by (room, its version, names hidden, challenge)


def board(store: db.Store, room: rooms.Room) -> tuple[classroom.Board, tuple]:
    """The room's board, and the key that names this state of it (for chart specs): rebuilt only
    when a run was posted or cleared, names were hidden or shown, or the challenge changed."""
    key = (room.code, rooms.version(store, room.code), room.names_hidden, room.challenge)
    challenge = classroom.Challenge.from_json(room.challenge)
    built = BOARDS.get_or_build(
        key, lambda: classroom.board(rooms.runs(store, room.code), challenge, room.names_hidden)
    )
    return built, key
