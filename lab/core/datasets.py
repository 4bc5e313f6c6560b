"""A learner's own data: a CSV of (x, y) pairs, checked, named by its content, kept per process.

:func:`parse_csv` turns the bytes of an uploaded (or command-line) file into a :class:`Dataset`
or raises ``ValueError`` with one sentence saying what is wrong and what is wanted. A data set is
known by a hash of the numbers trained on (``sha256:`` + 16 hex digits), which a run's config
carries; :func:`register` keeps it in this process so the engine can find it again
(:func:`lab.core.data.make_data`). Links carry the hash, not the file: another process, or a later
server, asks for the file again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass

import numpy as np

from lab.core import caches

MAX_BYTES = 5 * 2**20  # the core's own ceiling; servers set lower ones (lab.app.limits)
MAX_ROWS = 100_000
_KEEP = 64  # data sets kept per process (each at most MAX_ROWS x 2 floats)


class OverLimit(ValueError):
    """The file is bigger (bytes or rows) than this server or tool accepts."""


class NoColumns(ValueError):
    """The file has no columns named as asked (by default x and y)."""


@dataclass(frozen=True)
class Dataset:
    name: str  # the file's name, as shown
    digest: str  # "sha256:" + 16 hex digits of the float64 (x, y) values
    x: np.ndarray  # float64
    y: np.ndarray
    columns: tuple[str, str]  # the columns x and y came from
    fit: tuple[float, float]  # the least-squares (w, b): computed once, read on every rerun

    @property
    def rows(self) -> int:
        return len(self.x)


def digest_of(x: np.ndarray, y: np.ndarray) -> str:
    h = hashlib.sha256(np.ascontiguousarray(x, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(y, dtype="<f8").tobytes())
    return "sha256:" + h.hexdigest()[:16]


def _table(raw: bytes, name: str, max_bytes: int) -> tuple[list[str], list[list[str]]]:
    if len(raw) > max_bytes:
        raise OverLimit(f"{name} is {len(raw) / 1024:,.1f} KB, over the limit of {max_bytes / 1024:,.0f} KB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{name} is not UTF-8 text (byte {exc.start} cannot be read): save it as a UTF-8 CSV"
        ) from None
    if "\x00" in text:
        raise ValueError(f"{name} is not a CSV file (it holds binary data)")
    if not text.strip():
        raise ValueError(f"{name} is empty: a CSV with a header row (x,y) and at least two rows of numbers is wanted")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    header = [c.strip() for c in rows[0]]
    if len(header) < 2:
        raise ValueError(f"{name} is not a CSV of two or more columns (its first line is {rows[0][:1]!r})")
    return header, rows[1:]


def numeric_columns(raw: bytes, name: str = "the file", max_bytes: int = MAX_BYTES) -> list[str]:
    """The columns of the CSV whose every value is a number (for choosing x and y)."""
    header, body = _table(raw, name, max_bytes)
    out = []
    for j, col in enumerate(header):
        try:
            [float(r[j]) for r in body]
        except (ValueError, IndexError):
            continue
        out.append(col)
    return out


def parse_csv(
    raw: bytes,
    name: str,
    x_col: str | None = None,
    y_col: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
) -> Dataset:
    """The (x, y) pairs of a CSV: columns ``x`` and ``y`` unless others are named."""
    header, body = _table(raw, name, max_bytes)
    x_col = x_col or "x"
    y_col = y_col or "y"
    missing = [c for c in (x_col, y_col) if c not in header]
    if missing:
        raise NoColumns(
            f"{name} has no column {' or '.join(repr(c) for c in missing)}; its columns are {header}: "
            "name them x and y, or choose two numeric columns"
        )
    if x_col == y_col:
        raise ValueError(f"x and y must be two different columns, both are {x_col!r}")
    if not body:
        raise ValueError(f"{name} has a header but no rows: at least two rows of numbers are wanted")
    if len(body) < 2:
        raise ValueError(f"{name} has one row: a line needs at least two points")
    if len(body) > max_rows:
        raise OverLimit(f"{name} has {len(body):,} rows, over the limit of {max_rows:,}")
    jx, jy = header.index(x_col), header.index(y_col)
    values = np.empty((len(body), 2))
    for i, row in enumerate(body):
        for k, (j, col) in enumerate(((jx, x_col), (jy, y_col))):
            cell = row[j].strip() if j < len(row) else ""
            try:
                v = float(cell)
            except ValueError:
                raise ValueError(f"{name}, row {i + 2}, column {col!r}: {cell!r} is not a number") from None
            if not math.isfinite(v):
                raise ValueError(f"{name}, row {i + 2}, column {col!r}: {cell} is not a finite number")
            values[i, k] = v
    x, y = values[:, 0].copy(), values[:, 1].copy()
    if np.ptp(x) == 0:
        raise ValueError(f"every x in {name} is {x[0]:g}: with no spread in x there is no slope to fit")
    return Dataset(name=name, digest=digest_of(x, y), x=x, y=y, columns=(x_col, y_col), fit=least_squares(x, y))


def least_squares(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The best-fit (w, b) of y ≈ w·x + b (centred sums, float64)."""
    xc, yc = x - x.mean(), y - y.mean()
    w = float((xc * yc).sum() / (xc * xc).sum())
    return w, float(y.mean() - w * x.mean())


_KEPT = caches.LRU(_KEEP, name="data sets")


def register(ds: Dataset) -> str:
    """Keep ``ds`` in this process (the most recently used _KEEP); returns its digest."""
    _KEPT.put(ds.digest, ds)
    return ds.digest


def get(digest: str, name: str | None = None) -> Dataset:
    ds = _KEPT.get(digest)
    if ds is None:
        raise ValueError(
            f"the data set {name or ''} ({digest}) is not on this server: links do not carry files, upload it again"
        )
    return ds
