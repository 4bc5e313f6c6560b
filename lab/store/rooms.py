"""Class rooms in the run store (the Class page): a teacher opens a room — a short code, and a
teacher key kept here only as its hash — students join it under a nickname unique in the room,
every run they train is posted to it, and the teacher's board lists its runs.

Every statement is parameterised, every write one transaction (a post's checks and its insert
together: a room closed meanwhile takes nothing). What a person can act on — an unknown or closed
room, a nickname taken, a limit reached, a wrong key — is a :class:`RoomError` with a ``kind`` the
pages turn into their message (lab/app/rooms.py); the database failing is a StoreError, as for runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import exc

from lab.core.config import RunConfig
from lab.core.results import RunResult
from lab.store import Store
from lab.store.schema import MEMBERS, ROOMS, RUNS, TEACHERS

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: a code read off a projector
ROOM_HOURS = 24  # a room left open closes by itself after this long (and stops counting as open)
POST_WINDOW = timedelta(minutes=1)  # the window of the posts-per-minute limit
OPEN_TRIES = 8  # a drawn code already taken: draw again


class RoomError(ValueError):
    """A refusal to say to the person who asked. ``kind``: "unknown", "closed", "taken", "member",
    "key", "rooms", "room_runs" or "rate"; ``limit``: the limit reached, for the last three."""

    def __init__(self, kind: str, message: str, limit: int | None = None) -> None:
        super().__init__(message)
        self.kind, self.limit = kind, limit


@dataclass(frozen=True)
class Room:
    code: str
    challenge: str | None  # JSON (lab/app/classroom.py's Challenge); None: an open room
    is_open: bool  # False once closed by its teacher, or ROOM_HOURS after it opened
    names_hidden: bool
    created: datetime  # UTC


@dataclass(frozen=True)
class RoomRun:
    """A run as the board reads it: who posted it, its summary rows and its board points."""

    id: int  # the order of posting
    short_id: str
    nickname: str
    created: datetime  # UTC
    summary: list[dict] = field(repr=False)  # lab.core.results.summary_rows
    lanes: list[dict] = field(repr=False)  # codec.board(): optimizer, lr, steps, loss


def name_key(nickname: str) -> str:
    """A nickname as compared for uniqueness: NFKC-normalised and case-folded ("ADA" is "ada")."""
    return unicodedata.normalize("NFKC", nickname).casefold().strip()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _still_open(row) -> bool:
    return bool(row.is_open) and row.created_at >= _now() - timedelta(hours=ROOM_HOURS)


def _room(row) -> Room:
    return Room(
        code=row.code,
        challenge=row.challenge,
        is_open=_still_open(row),
        names_hidden=bool(row.names_hidden),
        created=row.created_at.replace(tzinfo=UTC),
    )


@contextlib.contextmanager
def _writing(store: Store, doing: str) -> Iterator[sa.Connection]:
    """One transaction; what the database refuses is a StoreError saying what could not be done
    (a unique key taken stays an IntegrityError: the caller knows what it means)."""
    try:
        with store.engine.begin() as conn:
            yield conn
    except exc.IntegrityError:
        raise
    except exc.SQLAlchemyError as e:
        raise store._fail(doing, e) from e


def _locked(conn: sa.Connection, code: str) -> Room:
    """The room ``code`` (its row locked till the transaction ends, where the database can); RoomError when none."""
    row = conn.execute(sa.select(ROOMS).where(ROOMS.c.code == code).with_for_update()).first()
    if row is None:
        raise RoomError("unknown", f"There is no room {code[:20]} (a code is on the teacher's screen).")
    return _room(row)


def _open(conn: sa.Connection, code: str) -> Room:
    room = _locked(conn, code)
    if not room.is_open:
        raise RoomError("closed", f"Room {code} is closed.")
    return room


def open_rooms(conn: sa.Connection) -> int:
    cutoff = _now() - timedelta(hours=ROOM_HOURS)
    query = sa.select(sa.func.count()).select_from(ROOMS).where(ROOMS.c.is_open, ROOMS.c.created_at >= cutoff)
    return int(conn.execute(query).scalar_one())


def open_room(store: Store, code_length: int, max_rooms: int, session: str | None = None) -> tuple[Room, str]:
    """A new room with a code of ``code_length`` letters and digits; returns it and its teacher key
    (kept here only as a hash). ``session``, the teacher's browser session, holds it from then on
    (:func:`taught_by`). RoomError "rooms" when ``max_rooms`` are open already."""
    key = secrets.token_urlsafe(18)
    for attempt in range(OPEN_TRIES):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(code_length))
        created = _now()
        row = {"code": code, "key_hash": key_hash(key), "is_open": True, "names_hidden": False, "created_at": created}
        try:
            with _writing(store, "open a room") as conn:
                if open_rooms(conn) >= max_rooms:
                    raise RoomError("rooms", f"{max_rooms} rooms are open on this server already.", max_rooms)
                conn.execute(sa.insert(ROOMS).values(**row, challenge=None))
                if session is not None:
                    _hold(conn, code, session)
            return Room(code, None, True, False, created.replace(tzinfo=UTC)), key
        except exc.IntegrityError as e:  # the code was taken
            if attempt == OPEN_TRIES - 1:
                raise store._fail("open a room", e) from e
    raise AssertionError("unreachable")


def get(store: Store, code: str) -> Room | None:
    try:
        with store.engine.connect() as conn:
            row = conn.execute(sa.select(ROOMS).where(ROOMS.c.code == code)).first()
    except exc.SQLAlchemyError as e:
        raise store._fail("be read", e) from e
    return None if row is None else _room(row)


def join(store: Store, code: str, nickname: str, session: str) -> Room:
    """``session`` joins room ``code`` as ``nickname`` (again: the same session may rejoin under its
    nickname). RoomError when the room is unknown or closed, or another session holds the nickname."""
    key = name_key(nickname)
    try:
        with _writing(store, "join the room") as conn:
            room = _open(conn, code)
            holder = conn.execute(
                sa.select(MEMBERS.c.session).where(MEMBERS.c.room == code, MEMBERS.c.name_key == key)
            ).first()
            if holder is not None and holder.session != session:
                raise RoomError("taken", f"Someone in room {code} already has this nickname: choose another.")
            if holder is None:
                conn.execute(
                    sa.insert(MEMBERS).values(
                        room=code, name_key=key, nickname=nickname, session=session, joined_at=_now()
                    )
                )
    except exc.IntegrityError as e:  # two joined with one name at once: the second is refused
        raise RoomError("taken", f"Someone in room {code} already has this nickname: choose another.") from e
    return room


def member_of(store: Store, session: str) -> tuple[str, str] | None:
    """(room, nickname) of the room ``session`` joined last and has not left, or None: a reload finds
    its room (closed by its teacher too: the page then says so; not one older than ROOM_HOURS)."""
    cutoff = _now() - timedelta(hours=ROOM_HOURS)
    query = (
        sa.select(MEMBERS.c.room, MEMBERS.c.nickname)
        .join(ROOMS, ROOMS.c.code == MEMBERS.c.room)
        .where(MEMBERS.c.session == session, ROOMS.c.created_at >= cutoff)
        .order_by(MEMBERS.c.joined_at.desc())
        .limit(1)
    )
    try:
        with store.engine.connect() as conn:
            row = conn.execute(query).first()
    except exc.SQLAlchemyError as e:
        raise store._fail("be read", e) from e
    return None if row is None else (row.room, row.nickname)


def leave(store: Store, code: str, session: str) -> None:
    """``session`` leaves room ``code``: its nickname is free again (its runs stay on the board)."""
    with _writing(store, "leave the room") as conn:
        conn.execute(sa.delete(MEMBERS).where(MEMBERS.c.room == code, MEMBERS.c.session == session))


@dataclass(frozen=True, kw_only=True)
class PostLimits:
    runs: int  # runs one room holds
    per_minute: int  # posts one session makes to a room in a minute


def post(
    store: Store,
    result: RunResult,
    *,
    code: str,
    nickname: str,
    session: str,
    seq: int,
    limits: PostLimits,
    asked: RunConfig | None = None,
) -> str:
    """Keep ``result`` as a run of ``session`` posted to room ``code`` under ``nickname``; its short
    id. RoomError (nothing written) when the room is unknown or closed, the session is not its
    member under that nickname, the room is full, or the session posted its share of the minute."""
    key = name_key(nickname)

    def check(conn: sa.Connection) -> None:
        _open(conn, code)
        holder = conn.execute(
            sa.select(MEMBERS.c.session).where(MEMBERS.c.room == code, MEMBERS.c.name_key == key)
        ).first()
        if holder is None or holder.session != session:
            raise RoomError("member", f"You are not in room {code} under this nickname: join it again.")
        held = conn.execute(sa.select(sa.func.count()).select_from(RUNS).where(RUNS.c.room == code)).scalar_one()
        if held >= limits.runs:
            raise RoomError("room_runs", f"Room {code} holds {limits.runs:,} runs, its limit.", limits.runs)
        recent = sa.select(sa.func.count()).select_from(RUNS)
        since = _now() - POST_WINDOW
        recent = recent.where(RUNS.c.room == code, RUNS.c.session == session, RUNS.c.created_at >= since)
        if conn.execute(recent).scalar_one() >= limits.per_minute:
            raise RoomError("rate", f"You posted {limits.per_minute} runs in the last minute.", limits.per_minute)

    return store.save(result, session=session, seq=seq, asked=asked, room=code, nickname=nickname, check=check)


BOARD_COLUMNS = (RUNS.c.id, RUNS.c.short_id, RUNS.c.nickname, RUNS.c.created_at, RUNS.c.summary, RUNS.c.board)


def runs(store: Store, code: str, after: int = 0) -> list[RoomRun]:
    """The runs posted to room ``code`` (after the run numbered ``after``), in the order posted:
    their summary rows and board points, not their full curves."""
    query = sa.select(*BOARD_COLUMNS).where(RUNS.c.room == code, RUNS.c.id > after).order_by(RUNS.c.id)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(query).all()
    except exc.SQLAlchemyError as e:
        raise store._fail("be read", e) from e
    return [
        RoomRun(
            id=row.id,
            short_id=row.short_id,
            nickname=row.nickname or "",
            created=row.created_at.replace(tzinfo=UTC),
            summary=json.loads(row.summary),
            lanes=json.loads(row.board)["lanes"] if row.board else [],
        )
        for row in rows
    ]


def version(store: Store, code: str) -> tuple[int, int]:
    """(how many runs, the newest's number) of room ``code``: the board redraws when it changes."""
    query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(RUNS.c.id), 0)).where(RUNS.c.room == code)
    try:
        with store.engine.connect() as conn:
            count, newest = conn.execute(query).one()
    except exc.SQLAlchemyError as e:
        raise store._fail("be read", e) from e
    return int(count), int(newest)


# ------------------------------------------------------------------------------------------ the teacher
def _hold(conn: sa.Connection, code: str, session: str) -> None:
    """``session`` holds room ``code`` as its teacher (once: holding it again changes nothing)."""
    if not _holds(conn, code, session):
        conn.execute(sa.insert(TEACHERS).values(room=code, session_hash=key_hash(session), since=_now()))


def _holds(conn: sa.Connection, code: str, session: str) -> bool:
    held = sa.select(TEACHERS.c.room).where(TEACHERS.c.room == code, TEACHERS.c.session_hash == key_hash(session))
    return conn.execute(held).first() is not None


def _teacher(conn: sa.Connection, code: str, key: str) -> Room:
    """Room ``code``, locked, when ``key`` is its teacher key or the token of a session that holds
    it (:func:`taught_by`); RoomError "key" otherwise."""
    row = conn.execute(sa.select(ROOMS).where(ROOMS.c.code == code).with_for_update()).first()
    if row is None or not (hmac.compare_digest(row.key_hash, key_hash(key)) or _holds(conn, code, key)):
        raise RoomError("key", f"This is not the teacher key of room {code[:20]}.")
    return _room(row)


def teacher(store: Store, code: str, key: str, session: str | None = None) -> Room:
    """Room ``code`` when ``key`` is its teacher's (another tab takes the room up: ``session``, that
    tab's, holds it from then on); RoomError "key" otherwise."""
    with _writing(store, "take the room up") as conn:
        room = _teacher(conn, code, key)
        if session is not None:
            _hold(conn, code, session)
        return room


def taught_by(store: Store, session: str) -> str | None:
    """The code of the room ``session`` took up last as its teacher, or None: a reload, or the
    same page in present mode, finds the teacher's room by the session's token."""
    query = (
        sa.select(TEACHERS.c.room)
        .where(TEACHERS.c.session_hash == key_hash(session))
        .order_by(TEACHERS.c.since.desc())
        .limit(1)
    )
    try:
        with store.engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()
    except exc.SQLAlchemyError as e:
        raise store._fail("be read", e) from e


def stop_teaching(store: Store, code: str, session: str) -> None:
    """``session`` no longer holds room ``code`` (the room stays as it is)."""
    with _writing(store, "let the room go") as conn:
        conn.execute(sa.delete(TEACHERS).where(TEACHERS.c.room == code, TEACHERS.c.session_hash == key_hash(session)))


def _set(store: Store, code: str, key: str, doing: str, **values) -> None:
    with _writing(store, doing) as conn:
        _teacher(conn, code, key)
        conn.execute(sa.update(ROOMS).where(ROOMS.c.code == code).values(**values))


def set_challenge(store: Store, code: str, key: str, challenge: str | None) -> None:
    """The room's challenge (JSON; None: open)."""
    _set(store, code, key, "set the challenge", challenge=challenge)


def hide_names(store: Store, code: str, key: str, hidden: bool) -> None:
    _set(store, code, key, "hide the names", names_hidden=hidden)


def close(store: Store, code: str, key: str) -> None:
    """No more joins or posts; the board still shows what was posted."""
    _set(store, code, key, "close the room", is_open=False)


def clear(store: Store, code: str, key: str) -> int:
    """Take every run off the room's board (each stays in its student's history); how many."""
    with _writing(store, "clear the room") as conn:
        _teacher(conn, code, key)
        query = sa.update(RUNS).where(RUNS.c.room == code).values(room=None, nickname=None, board=None)
        return conn.execute(query).rowcount
