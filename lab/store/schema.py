"""The store's tables, and the ordered steps that create or upgrade them.

A database records its schema's version in ``schema_version`` (one row). At start the store applies,
in one transaction, every step after the version it finds: an empty database (version 0) gets them
all; one made by an older Optimizer Lab gets the steps it lacks, its runs kept. A database newer than
this code is refused (its tables may mean something this code does not know). A new step goes at the
end of :data:`STEPS`; a step, once released, is never edited.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

SHORT_ID = 10  # characters of a run's short id (lab/store/__init__.py draws them)
TOKEN = 64  # at most, a session token's characters
ROOM = 16  # a room's code (the Class page, issue 22 point 2)
NICKNAME = 40
NAME_KEY = 160  # a nickname as compared (NFKC, case-folded: may be longer than it)
KEY_HASH = 64  # a teacher key's SHA-256, in hex


def run_columns_v1() -> list[sa.Column]:
    """The runs table as version 1 made it."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("short_id", sa.String(SHORT_ID), nullable=False, unique=True),  # what links name: ?r=
        sa.Column("session", sa.String(TOKEN), nullable=True),  # the browser's token; None: out of any history
        sa.Column("seq", sa.Integer, nullable=False),  # the run's number in its session's history (#3)
        sa.Column("created_at", sa.DateTime, nullable=False),  # UTC
        sa.Column("objective", sa.String(32), nullable=False),
        sa.Column("dataset_name", sa.String(255), nullable=True),  # a learner's own file (else None)
        sa.Column("dataset_hash", sa.String(64), nullable=True),
        sa.Column("config", sa.Text, nullable=False),  # RunConfig JSON: what trained
        sa.Column("asked", sa.Text, nullable=True),  # what was asked, when it differs (a stopped run)
        sa.Column("summary", sa.Text, nullable=False),  # JSON: lab.core.results.summary_rows
        sa.Column("curves", sa.Text, nullable=False),  # JSON: lab/store/codec.py (downsampled lanes)
    ]


def run_columns_v2() -> list[sa.Column]:
    """What version 2 added: the room a run was posted to and the nickname it was posted under."""
    return [
        sa.Column("room", sa.String(ROOM), nullable=True),
        sa.Column("nickname", sa.String(NICKNAME), nullable=True),
    ]


def run_columns_v3() -> list[sa.Column]:
    """What version 3 added to runs: the few points of each lane a class board draws."""
    return [sa.Column("board", sa.Text, nullable=True)]  # JSON: lab/store/codec.py's board()


def room_columns_v3() -> list[sa.Column]:
    """The rooms table as version 3 made it: a class's room, its teacher key's hash and its challenge."""
    return [
        sa.Column("code", sa.String(ROOM), primary_key=True),  # what students type: "K7MQ"
        sa.Column("key_hash", sa.String(KEY_HASH), nullable=False),  # SHA-256 of the teacher's key
        sa.Column("challenge", sa.Text, nullable=True),  # JSON (lab/app/classroom.py); None: open
        sa.Column("is_open", sa.Boolean, nullable=False),
        sa.Column("names_hidden", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),  # UTC
    ]


def member_columns_v3() -> list[sa.Column]:
    """The members table as version 3 made it: who joined a room, under which nickname."""
    return [
        sa.Column("room", sa.String(ROOM), primary_key=True),
        sa.Column("name_key", sa.String(NAME_KEY), primary_key=True),  # unique in the room
        sa.Column("nickname", sa.String(NICKNAME), nullable=False),  # as typed
        sa.Column("session", sa.String(TOKEN), nullable=False),  # the browser session that took it
        sa.Column("joined_at", sa.DateTime, nullable=False),
    ]


def teacher_columns_v4() -> list[sa.Column]:
    """The teachers table as version 4 made it: the browser sessions that hold a room as its
    teacher (the one that opened it, and any that took it up with the key), so that a reload finds it."""
    return [
        sa.Column("room", sa.String(ROOM), primary_key=True),
        sa.Column("session_hash", sa.String(KEY_HASH), primary_key=True),  # SHA-256 of the session's token
        sa.Column("since", sa.DateTime, nullable=False),  # UTC
    ]


METADATA = sa.MetaData()
VERSION = sa.Table("schema_version", METADATA, sa.Column("version", sa.Integer, nullable=False))
RUNS = sa.Table("runs", METADATA, *run_columns_v1(), *run_columns_v2(), *run_columns_v3())
ROOMS = sa.Table("rooms", METADATA, *room_columns_v3())
MEMBERS = sa.Table("members", METADATA, *member_columns_v3())
TEACHERS = sa.Table("teachers", METADATA, *teacher_columns_v4())
SESSION_INDEX = sa.Index("runs_by_session", RUNS.c.session, RUNS.c.id)
ROOM_INDEX = sa.Index("runs_by_room", RUNS.c.room, RUNS.c.id)


def _v1(conn: sa.Connection) -> None:
    meta = sa.MetaData()
    VERSION.to_metadata(meta).create(conn)
    runs = sa.Table("runs", meta, *run_columns_v1())
    runs.create(conn)
    sa.Index(SESSION_INDEX.name, runs.c.session, runs.c.id).create(conn)


def _add_columns(conn: sa.Connection, columns: list[sa.Column]) -> None:
    for column in columns:  # fixed DDL, no values: nothing to parameterise
        conn.execute(sa.text(f"ALTER TABLE runs ADD COLUMN {column.name} {column.type.compile(conn.dialect)}"))


def _v2(conn: sa.Connection) -> None:
    _add_columns(conn, run_columns_v2())
    ROOM_INDEX.create(conn)


def _v3(conn: sa.Connection) -> None:
    _add_columns(conn, run_columns_v3())
    meta = sa.MetaData()
    sa.Table("rooms", meta, *room_columns_v3()).create(conn)
    sa.Table("members", meta, *member_columns_v3()).create(conn)


def _v4(conn: sa.Connection) -> None:
    sa.Table("teachers", sa.MetaData(), *teacher_columns_v4()).create(conn)


STEPS: list[Callable[[sa.Connection], None]] = [_v1, _v2, _v3, _v4]  # STEPS[k] takes version k to k + 1
LATEST = len(STEPS)


class NewerSchema(RuntimeError):
    """The database was made by a newer Optimizer Lab than this one."""


def version(conn: sa.Connection) -> int:
    """The schema version of the database behind ``conn`` (0: no tables yet)."""
    if not sa.inspect(conn).has_table(VERSION.name):
        return 0
    return int(conn.execute(sa.select(VERSION.c.version)).scalar_one())


def upgrade(conn: sa.Connection, target: int = LATEST) -> int:
    """Apply the steps from the database's version up to ``target``, in ``conn``'s transaction;
    returns the version found. NewerSchema when the database is past what this code knows."""
    found = version(conn)
    if found > LATEST:
        raise NewerSchema(f"the database's schema is version {found}; this Optimizer Lab knows up to {LATEST}")
    for step in STEPS[found:target]:
        step(conn)
    if target > found:
        if found == 0:
            conn.execute(sa.insert(VERSION).values(version=target))
        else:
            conn.execute(sa.update(VERSION).values(version=target))
    return found
