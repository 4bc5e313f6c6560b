"""What a user review found hard to read: runs the history could not tell apart, a repeats table too
wide for the page, a refused upload left in its box, and a share link on uploaded data that warned
only its recipient."""

from __future__ import annotations

import numpy as np
import pytest
from apptest_helpers import open_page

from lab.app import runs, session, tables, view
from lab.core import datasets, engine
from lab.core.config import OptimizerConfig, RunConfig
from lab.core.data import kept_config

GOOD = b"x,y\n0,1.1\n0.5,2.4\n1,4.2\n1.5,5.3\n2,7.1\n"
BROKEN = b"x,y\n1,2\n3,oops\n"
TWO = (OptimizerConfig.of("SGD", lr=0.1), OptimizerConfig.of("Adam", lr=0.01))


# ---------------------------------------------------------------- 1. the history tells runs apart


def _store(*cfgs: RunConfig) -> runs.RunStore:
    store = runs.RunStore()
    for cfg in cfgs:
        store.add(cfg, engine.run(cfg))
    return store


def _settings(store: runs.RunStore) -> list[tuple]:
    """The history's rows without what differs between any two runs (id, time, seconds, device)."""
    h = store.history().drop(columns=["run", "time", "seconds", "device"])
    return [tuple(row) for row in h.itertuples(index=False)]


def _label_settings(store: runs.RunStore) -> list[str]:
    """The picker's labels without the run id and time."""
    return [label.split(" · ", 2)[2] for label in view.history_labels(store).values()]


@pytest.mark.parametrize(
    "other",
    [
        RunConfig(optimizers=(TWO[0], TWO[1].with_hyperparams(lr=0.05)), steps=20),  # one rate differs
        RunConfig(optimizers=TWO, steps=20, dtype="float64"),  # the precision differs
    ],
    ids=["lr", "dtype"],
)
def test_runs_differing_only_in_lr_or_dtype_read_differently(other):
    store = _store(RunConfig(optimizers=TWO, steps=20), other)
    rows, labels = _settings(store), _label_settings(store)
    assert rows[0] != rows[1] and labels[0] != labels[1]


def test_the_history_says_rates_precision_schedule_and_data():
    own = kept_config(datasets.parse_csv(GOOD, "mine.csv"))
    same = RunConfig(
        optimizers=(OptimizerConfig.of("SGD", lr=0.01), OptimizerConfig.of("Adam", lr=0.01)),
        steps=20,
        dtype="float64",
        scheduler="StepLR:step_size=5",
        data=own,
        batch_size=2,
    )
    store = _store(RunConfig(optimizers=TWO, steps=20), same)
    newest, oldest = store.history().to_dict("records")
    assert oldest["learning rates"] == "SGD 0.1, Adam 0.01" and oldest["precision"] == "float32"
    assert oldest["data"] == "generated y = 3x + 0.8" and oldest["schedule"] == "constant"
    assert newest["learning rates"] == "same lr 0.01" and newest["precision"] == "float64"
    assert newest["data"] == "your file mine.csv" and newest["schedule"].startswith("StepLR")
    labels = view.history_labels(store)
    assert "SGD 0.1, Adam 0.01 · float32" in labels[1] and "same lr 0.01 · float64" in labels[2]
    assert "mine.csv" in labels[2] and "StepLR" in labels[2]
    assert runs.rates_text(RunConfig(optimizers=(OptimizerConfig.of("Adam", lr=0.2),))) == "lr 0.2"


# ---------------------------------------------------------------- 2. the repeats table fits the page


@pytest.fixture(scope="module")
def five_repeats():
    return engine.run(RunConfig(repeats=5, steps=200))


def test_five_repeats_fit_in_eight_columns_with_centre_and_spread(five_repeats):
    table = tables.results_table(five_repeats).set_index("optimizer")
    assert len(table.reset_index().columns) <= 8
    lanes = [ln for ln in five_repeats.lanes if ln.optimizer == "Adam"]
    w = np.array([ln.final_w for ln in lanes])
    assert table.loc["Adam", "w"] == pytest.approx(w.mean())  # the centre
    assert table.loc["Adam", "w sd"] == pytest.approx(w.std(ddof=1))  # the spread
    assert table.loc["Adam", "status"].startswith(f"{sum(ln.settled for ln in lanes)} of 5 converged")
    assert {"lr", "b", "final loss", "steps to tol"} <= set(table.columns)


def test_no_number_in_the_table_breaks_across_lines(five_repeats):
    html = tables.styled(tables.results_table(five_repeats), five_repeats).to_html()
    assert "white-space: nowrap" in html


# ---------------------------------------------------------------- 3. a refused file leaves the box


def test_a_refused_file_gets_a_new_empty_box_and_the_data_stays():
    state: dict = {}
    session.take_upload(state, "f1", "mine.csv", GOOD, 10_000, 1_000)
    key = session.upload_key(state)
    assert state[session.DATASET].name == "mine.csv" and session.UPLOAD_ERROR not in state
    session.take_upload(state, "f2", "broken.csv", BROKEN, 10_000, 1_000)
    assert session.upload_key(state) != key  # the box under the new key starts empty
    assert "'oops' is not a number" in state[session.UPLOAD_ERROR]
    assert state[session.DATASET].name == "mine.csv"
    refused = session.upload_key(state)
    session.take_upload(state, "f3", "mine.csv", GOOD, 10_000, 1_000)
    assert session.upload_key(state) == refused  # an accepted file stays in its box


def test_in_the_app_the_refused_file_is_gone_from_the_box():
    at = open_page()
    at.sidebar.file_uploader[0].upload("mine.csv", GOOD, "text/csv").run()
    at.sidebar.file_uploader[0].upload("broken.csv", BROKEN, "text/csv").run()
    assert not at.exception
    assert not at.sidebar.file_uploader[0].value  # no file in the box that is not in use
    errors = " ".join(e.value for e in at.sidebar.error)
    assert "broken.csv" in errors and "The data in use is unchanged" in errors
    assert "your data: mine.csv" in " ".join(c.value for c in at.sidebar.caption)


# ---------------------------------------------------------------- 4. the sender is warned too


def test_sharing_a_run_on_uploaded_data_warns_the_sender():
    own = RunConfig(data=kept_config(datasets.parse_csv(GOOD, "mine.csv")), batch_size=2)
    text = runs.share_warning(own)
    assert text is not None and "mine.csv" in text and "links do not carry files" in text
    assert runs.share_warning(RunConfig()) is None  # generated data: the link carries it
    assert runs.share_warning(own.replace(objective="saddle")) is None  # a surface uses no data
