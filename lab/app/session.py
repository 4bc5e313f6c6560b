"""Session-state keys shared by every page (the sidebar's device, seed and data), kept pure so
plain tests can drive them with a dict standing in for ``st.session_state``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

from lab.app import experiments, limits
from lab.app.keys import OPT, PAGES, SHARED, Namespace
from lab.app.query import PageState, from_query
from lab.core import datasets, devices
from lab.core.config import DataConfig, RunConfig
from lab.core.data import dataset_config

DEVICE, SEED = SHARED("device"), SHARED("seed")
SAMPLES, NOISE, TRUE_W, TRUE_B = SHARED("samples"), SHARED("noise"), SHARED("true_w"), SHARED("true_b")
URL_STATE, URL_NOTICES = SHARED("url_state"), SHARED("url_notices")
EXP_SEEN = SHARED("exp_seen")  # the ?exp= value already loaded
DATASET = SHARED("dataset")  # a learner's own data (a lab.core.datasets.Dataset), or absent
UPLOAD, UPLOAD_SEEN, UPLOAD_ERROR = SHARED("upload"), SHARED("upload_seen"), SHARED("upload_error")
UPLOAD_VERSION = SHARED("upload_version")  # bumped when a file is refused: the upload box starts empty
UPLOAD_PENDING = SHARED("upload_pending")  # (name, bytes) of a file whose x and y columns are to be chosen
LINKED = SHARED("linked")  # the stored run a link's ?r= named, until the Optimizers page shows it
RELOAD_KEYS = (OPT("ready"), OPT("autoran"))  # cleared so the Optimizers page takes a new URL state


def init_from_url(
    state: MutableMapping[str, Any], query: Mapping[str, Any], stored: Callable[[str], Any] | None = None
) -> None:
    """Read the URL into the shared keys (and keep the page state it gives): once per session,
    and again whenever the URL names a guided experiment (``?exp=``) not loaded yet — a link to an
    experiment loads it into a session already open, replacing the seed and data settings. A link
    to a stored run (``?r=``) opens its settings, the run itself left in ``state[LINKED]``;
    ``stored(id)`` gives it (lab.app.archive.linked: ValueError with the notice when it cannot)."""
    exp = query.get("exp")
    if exp is None:
        state[EXP_SEEN] = None  # the same experiment's link can load it again later
    elif exp == state.get(EXP_SEEN):
        exp = None
    if URL_STATE in state and exp is None:
        return
    if exp is not None:
        state[EXP_SEEN] = exp
        try:
            page = experiments.get(exp).state()
        except ValueError as exc:
            page = from_query({k: v for k, v in query.items() if k != "exp"})
            page.notices.append(f"Ignored exp={exp!r}: {exc}.")
    elif query.get("r") and stored is not None:
        page = from_stored(state, query, stored)
    else:
        page = from_query(query) if query else PageState()
    if page.experiment is not None:
        for key in (SEED, SAMPLES, NOISE, TRUE_W, TRUE_B):
            state.pop(key, None)  # the experiment's values, not the ones set before
        for key in RELOAD_KEYS:
            state.pop(key, None)
    for name in ("steps", "repeats"):
        value, over = limits.within(name, getattr(page.config, name))
        if over is not None:
            page.config = page.config.replace(**{name: value})
            page.notices.append(over)
    have = devices.device_names()
    device = page.config.device
    if device not in have:
        try:
            device = str(devices.resolve(device))
        except ValueError as exc:
            page.notices.append(f"Ignored device={device!r}: {exc}. Using cpu.")
            device = "cpu"
    samples, over = limits.within(limits.samples_limit(device), page.config.data.samples)
    if over is not None:
        data = dataclasses.replace(page.config.data, samples=samples)
        opts = tuple(
            o if o.batch_size is None else dataclasses.replace(o, batch_size=min(o.batch_size, samples))
            for o in page.config.optimizers
        )
        page.config = page.config.replace(data=data, batch_size=min(page.config.batch_size, samples), optimizers=opts)
        page.notices.append(over)
    cfg = page.config
    state.setdefault(DEVICE, device)
    state.setdefault(SEED, cfg.seed)
    state.setdefault(SAMPLES, cfg.data.samples)
    state.setdefault(NOISE, cfg.data.noise)
    state.setdefault(TRUE_W, cfg.data.true_w)
    state.setdefault(TRUE_B, cfg.data.true_b)
    state[URL_STATE] = page
    state[URL_NOTICES] = list(page.notices)


def from_stored(state: MutableMapping[str, Any], query: Mapping[str, Any], stored: Callable[[str], Any]) -> PageState:
    """The page state of a link to a stored run: its settings, not trained again (the run is left in
    ``state[LINKED]``); the URL's other settings and a notice when it cannot be opened."""
    try:
        run = stored(str(query["r"]))
    except ValueError as exc:
        page = from_query({k: v for k, v in query.items() if k != "r"})
        page.notices.append(str(exc))
        return page
    state[LINKED] = run
    page = PageState(config=run.asked or run.result.config)
    if (name := page.config.data.dataset_name) is not None and page.config.is_regression:
        page.notices.append(
            f"This run was trained on an uploaded file, {name}: it is shown as it was kept. Upload {name} "
            "(Data, in the sidebar) to train it again."
        )
    return page


def use_dataset(state: MutableMapping[str, Any], ds: datasets.Dataset) -> None:
    """Train on ``ds`` from now on (every page): the previous data is replaced only once the
    new file has passed every check."""
    datasets.register(ds)
    state[DATASET] = ds
    state.pop(UPLOAD_ERROR, None)
    state.pop(UPLOAD_PENDING, None)


def use_generated(state: MutableMapping[str, Any]) -> None:
    state.pop(DATASET, None)
    state.pop(UPLOAD_ERROR, None)
    state.pop(UPLOAD_PENDING, None)


def upload_key(state: Mapping[str, Any]) -> str:
    """The upload box's widget key. A refused file gets a new key (:func:`refuse_upload`): a box
    under a new key starts empty, so it never shows a file that is not the data in use."""
    return f"{UPLOAD}.{state.get(UPLOAD_VERSION, 0)}"


def refuse_upload(state: MutableMapping[str, Any], reason: str) -> None:
    """Say why the file was refused (the data in use stays) and empty the upload box."""
    state[UPLOAD_ERROR] = reason
    state[UPLOAD_VERSION] = state.get(UPLOAD_VERSION, 0) + 1


def take_upload(
    state: MutableMapping[str, Any], file_id: str, name: str, raw: bytes, max_bytes: int, max_rows: int
) -> None:
    """A newly uploaded file: in use if it has x and y columns and passes every check; waiting for
    its columns to be chosen if it has two numeric columns but no x and y; else refused
    (:func:`refuse_upload`: the reason in ``state[UPLOAD_ERROR]``, the box emptied) and the data in
    use unchanged. Each file is read once."""
    if state.get(UPLOAD_SEEN) == file_id:
        return
    state[UPLOAD_SEEN] = file_id
    state.pop(UPLOAD_PENDING, None)
    try:
        use_dataset(state, datasets.parse_csv(raw, name, max_bytes=max_bytes, max_rows=max_rows))
    except datasets.NoColumns as exc:
        if len(datasets.numeric_columns(raw, name, max_bytes)) >= 2:
            state[UPLOAD_PENDING] = (name, raw)
            state.pop(UPLOAD_ERROR, None)
        else:
            refuse_upload(state, str(exc))
    except datasets.OverLimit as exc:  # this server's bound: say which, and how to go bigger
        refuse_upload(
            state,
            f"{exc} on this server ({limits.variable('upload_kb')}, {limits.variable('upload_rows')}); "
            f"on your own machine: python -m lab compare --data {name}",
        )
    except ValueError as exc:
        refuse_upload(state, str(exc))


def forget_upload(state: MutableMapping[str, Any]) -> None:
    """The upload box is empty: what was said about its last file goes too (the data in use stays)."""
    for key in (UPLOAD_SEEN, UPLOAD_ERROR, UPLOAD_PENDING):
        state.pop(key, None)


def data_label(state: Mapping[str, Any]) -> str:
    """Which data is in use, in a few words (the sidebar shows it on every page)."""
    ds = state.get(DATASET)
    if ds is not None:
        return f"your data: {ds.name} ({ds.rows:,} rows, {ds.columns[0]} → {ds.columns[1]})"
    d = data_config(state)
    return f"generated: {d.samples} samples of y = {d.true_w:g}x + {d.true_b:g}" + (
        f" + noise {d.noise:g}" if d.noise else ""
    )


def keep_data(state: Mapping[str, Any]) -> None:
    """Keep this session's own data set in this process (the engine reads it by its digest). The
    process keeps only the most recent few, and a session may outlive them: called on every run of a
    page, before anything trains, so reading the form can stay free of writes."""
    if (ds := state.get(DATASET)) is not None:
        datasets.register(ds)


def data_config(state: Mapping[str, Any]) -> DataConfig:
    if (ds := state.get(DATASET)) is not None:
        return dataset_config(ds)
    d = DataConfig()
    return DataConfig(
        samples=int(state.get(SAMPLES, d.samples)),
        true_w=float(state.get(TRUE_W, d.true_w)),
        true_b=float(state.get(TRUE_B, d.true_b)),
        noise=float(state.get(NOISE, d.noise)),
    )


def shared_fields(state: Mapping[str, Any]) -> dict[str, Any]:
    """The RunConfig fields the sidebar decides."""
    return {
        "data": data_config(state),
        "seed": int(state.get(SEED, RunConfig().seed)),
        "device": str(state.get(DEVICE, "cpu")),
    }


# buttons, downloads, the share box (set from the run shown), and the learning-rate table (a data editor,
# whose value cannot be written: its edits are in the rates fields already)
NOT_INPUTS = (".btn.", ".dl.", ".share_link", ".hp_table.")


def keep_inputs(
    state: MutableMapping[str, Any], pages: Iterable[Namespace] = PAGES, skip: Iterable[str] = NOT_INPUTS
) -> None:
    """Streamlit forgets the value of a widget that is not on screen, so a page's inputs would
    reset after a visit elsewhere; writing each value back into the state on every run (from the
    entrypoint, whichever page is shown) keeps them. A button's value cannot be written: keys
    containing any of ``skip`` are left alone."""
    pages, skip = tuple(pages), tuple(skip)
    for key in [k for k in state if any(p.owns(k) for p in pages) and not any(x in str(k) for x in skip)]:
        state[key] = state[key]
