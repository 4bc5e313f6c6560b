"""The run store: finished runs kept in a database, so they outlive the server process.

SQLAlchemy Core over an embedded SQLite file by default (WAL mode: readers never wait for the
writer), or any database ``LAB_DB`` names — PostgreSQL through psycopg 3 behind several replicas::

    LAB_DB=postgresql+psycopg://lab:secret@db.example/lab

Without ``LAB_DB`` the file is ``runs.sqlite`` in ``LAB_DATA_DIR`` (default
``$XDG_DATA_HOME/optimizer-lab``, i.e. ``~/.local/share/optimizer-lab``), created on first start.
The schema is created or upgraded when the store opens (:mod:`lab.store.schema`). Every write is
one transaction, every statement parameterised. Anything the database refuses — it cannot be
reached, read or written — is a :class:`StoreError` whose message says where and why; the app
shows it once and keeps training without the store.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event, exc

from lab.core.config import RunConfig
from lab.core.results import RunResult
from lab.store import codec, schema
from lab.store.schema import RUNS

ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: a short id read off a projector
SHORT_LEN = 8  # 31**8: about 10**12 ids
SHORT_ID = re.compile(f"[{ALPHABET}]{{{SHORT_LEN}}}")
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # a session token (secrets.token_urlsafe)
SAVE_TRIES = 5  # a drawn short id already taken: draw again
BUSY_SECONDS = 30.0  # SQLite: how long a write waits for another one to finish before it fails


class StoreError(RuntimeError):
    """The store cannot be reached, read or written; the message says which store and why."""


@dataclass(frozen=True)
class StoredRun:
    short_id: str
    session: str | None
    seq: int  # its number in its session's history
    created: datetime  # UTC
    result: RunResult  # its config is what trained
    asked: RunConfig | None  # what was asked, when it differs (a run stopped at its time limit)
    room: str | None = None
    nickname: str | None = None


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the embedded database lives: ``LAB_DATA_DIR``, else the XDG data folder."""
    if environ.get("LAB_DATA_DIR", "").strip():
        return Path(environ["LAB_DATA_DIR"]).expanduser()
    xdg = environ.get("XDG_DATA_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "optimizer-lab"


def default_url(environ: Mapping[str, str] = os.environ) -> str:
    """``LAB_DB``, else the SQLite file in :func:`data_dir`."""
    if environ.get("LAB_DB", "").strip():
        return environ["LAB_DB"].strip()
    return f"sqlite:///{data_dir(environ) / 'runs.sqlite'}"


def new_token() -> str:
    return secrets.token_urlsafe(16)


def valid_token(text: object) -> bool:
    return isinstance(text, str) and TOKEN.fullmatch(text) is not None


def valid_short_id(text: object) -> bool:
    return isinstance(text, str) and SHORT_ID.fullmatch(text) is not None


def _new_short_id() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(SHORT_LEN))


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    """SQLite in WAL mode, its file's folder created; each transaction takes the write lock at its
    BEGIN (IMMEDIATE), so two writers queue (up to :data:`BUSY_SECONDS`) instead of failing halfway."""
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # the driver's own transactions off: BEGIN is ours
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL's safe setting: a crash loses no committed run
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _where(url: sa.URL) -> str:
    return (url.database or "") if url.get_backend_name() == "sqlite" else url.render_as_string(hide_password=True)


def open(url: str | None = None) -> Store:
    """The store at ``url`` (default: :func:`default_url`), its schema created or upgraded;
    StoreError when it cannot be opened."""
    text = url or default_url()
    try:
        parsed = sa.make_url(text)
    except exc.ArgumentError as e:
        raise StoreError(f"LAB_DB = {text!r} is not a database URL ({e})") from None
    where = _where(parsed)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = _sqlite_engine(parsed)
        else:
            engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args=_connect_args(parsed))
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # replicas starting together: one upgrades, the others wait
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": 220_001})
            schema.upgrade(conn)
    except (exc.SQLAlchemyError, OSError, schema.NewerSchema, ImportError) as e:
        raise StoreError(f"the run store {where} cannot be opened: {_reason(e)}") from e
    return Store(engine, where)


def _connect_args(url: sa.URL) -> dict:
    return {"connect_timeout": 5} if url.get_backend_name() == "postgresql" else {}


def _reason(e: BaseException) -> str:
    """The first line of what the driver said (SQLAlchemy's own text repeats the statement)."""
    text = str(getattr(e, "orig", None) or e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class Store:
    """Runs in one database. Thread-safe: each call takes its own connection from the pool."""

    def __init__(self, engine: sa.Engine, where: str) -> None:
        self.engine = engine
        self.where = where  # for messages: the file, or the URL without its password

    def __repr__(self) -> str:
        return f"Store({self.where!r})"

    def _fail(self, doing: str, e: BaseException) -> StoreError:
        return StoreError(f"the run store {self.where} cannot {doing}: {_reason(e)}")

    def save(
        self,
        result: RunResult,
        *,
        session: str | None = None,
        seq: int = 0,
        asked: RunConfig | None = None,
        room: str | None = None,
        nickname: str | None = None,
        check: Callable[[sa.Connection], None] | None = None,
    ) -> str:
        """Keep ``result`` (one row, one transaction); returns its short id. ``check(conn)`` runs in
        that transaction first: what it raises (a room's refusal) leaves nothing written."""
        summary, curves = codec.encode(result)
        cfg = result.config
        row = {
            "session": session,
            "seq": seq,
            "created_at": datetime.now(UTC).replace(tzinfo=None),
            "objective": cfg.objective,
            "dataset_name": cfg.data.dataset_name if cfg.is_regression else None,
            "dataset_hash": cfg.data.dataset if cfg.is_regression else None,
            "config": cfg.to_json(),
            "asked": None if asked is None else asked.to_json(),
            "summary": summary,
            "curves": curves,
            "room": room,
            "nickname": nickname,
            "board": None if room is None else codec.board(result),
        }
        for attempt in range(SAVE_TRIES):
            short_id = _new_short_id()
            try:
                with self.engine.begin() as conn:
                    if check is not None:
                        check(conn)
                    conn.execute(sa.insert(RUNS).values(short_id=short_id, **row))
                return short_id
            except exc.IntegrityError as e:  # the short id was taken (the only unique column)
                if attempt == SAVE_TRIES - 1:
                    raise self._fail("write a run", e) from e
            except exc.SQLAlchemyError as e:
                raise self._fail("write a run", e) from e
        raise AssertionError("unreachable")

    def history(self, session: str, limit: int = 50) -> list[StoredRun]:
        """The newest ``limit`` runs of ``session``, oldest first."""
        query = sa.select(RUNS).where(RUNS.c.session == session).order_by(RUNS.c.id.desc()).limit(max(0, int(limit)))
        return list(reversed(self._read(query)))

    def get(self, short_id: str) -> StoredRun | None:
        """The run ``short_id`` names (None when there is none; ValueError when it is not a short id)."""
        if not valid_short_id(short_id):
            raise ValueError(f"{str(short_id)[:40]!r} is not a run's id ({SHORT_LEN} letters and digits)")
        found = self._read(sa.select(RUNS).where(RUNS.c.short_id == short_id))
        return found[0] if found else None

    def forget(self, session: str, short_ids: list[str]) -> int:
        """Take runs out of ``session``'s history (a link to one still opens it); returns how many."""
        if not short_ids:
            return 0
        query = sa.update(RUNS).where(RUNS.c.session == session, RUNS.c.short_id.in_(short_ids)).values(session=None)
        try:
            with self.engine.begin() as conn:
                return conn.execute(query).rowcount
        except exc.SQLAlchemyError as e:
            raise self._fail("write", e) from e

    def count(self) -> int:
        return self._scalar(sa.select(sa.func.count()).select_from(RUNS))

    def version(self) -> int:
        with self.engine.connect() as conn:
            return schema.version(conn)

    def _scalar(self, query):
        try:
            with self.engine.connect() as conn:
                return conn.execute(query).scalar_one()
        except exc.SQLAlchemyError as e:
            raise self._fail("be read", e) from e

    def _read(self, query) -> list[StoredRun]:
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
        except exc.SQLAlchemyError as e:
            raise self._fail("be read", e) from e
        return [_stored(row) for row in rows]

    def close(self) -> None:
        self.engine.dispose()


def _stored(row) -> StoredRun:
    return StoredRun(
        short_id=row["short_id"],
        session=row["session"],
        seq=row["seq"],
        created=row["created_at"].replace(tzinfo=UTC),
        result=codec.decode(row["config"], row["curves"]),
        asked=None if row["asked"] is None else RunConfig.from_json(row["asked"]),
        room=row["room"],
        nickname=row["nickname"],
    )
