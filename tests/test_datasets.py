"""A learner's own data: every bad file refused with its reason, good files trained like any other
data — in the core, on the command line and in the app."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from apptest_helpers import open_page, table
from reference import assert_follows_torch

from lab.app import session
from lab.app.query import PageState, to_query
from lab.core import caches, datasets, engine
from lab.core.config import OptimizerConfig, RunConfig
from lab.core.data import dataset_config, kept_config

GOOD = b"x,y\n0,1.1\n0.5,2.4\n1,4.2\n1.5,5.3\n2,7.1\n"

BAD = [
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "is not UTF-8 text"),
    ("nul bytes", b"x,y\n1,2\x00\n", "is not a CSV file"),
    ("latin-1", "x,y\n1,2\né,3\n".encode("latin-1"), "is not UTF-8 text"),
    ("empty", b"", "is empty"),
    ("blank lines", b"\n \n", "is empty"),
    ("one column", b"x\n1\n2\n", "is not a CSV of two or more columns"),
    ("header only", b"x,y\n", "has a header but no rows"),
    ("one row", b"x,y\n1,2\n", "has one row"),
    ("no x and y", b"a,b\n1,2\n3,4\n", "has no column 'x' or 'y'"),
    ("no y", b"x,z\n1,2\n3,4\n", "has no column 'y'"),
    ("text in y", b"x,y\n1,2\n3,four\n", "row 3, column 'y': 'four' is not a number"),
    ("missing value", b"x,y\n1,2\n3,\n", "row 3, column 'y': '' is not a number"),
    ("short row", b"x,y\n1,2\n3\n", "row 3, column 'y': '' is not a number"),
    ("NaN", b"x,y\n1,2\nnan,4\n", "row 3, column 'x': nan is not a finite number"),
    ("infinite", b"x,y\n1,2\n3,inf\n", "row 3, column 'y': inf is not a finite number"),
    ("constant x", b"x,y\n2,1\n2,3\n2,5\n", "every x in f.csv is 2: with no spread in x there is no slope to fit"),
    (
        "too many rows",
        b"x,y\n" + b"".join(b"%d,%d\n" % (i, 2 * i) for i in range(31)),
        "has 31 rows, over the limit of 30",
    ),
    ("too large", b"x,y\n" + b"1,2\n" * 400, "is 1.6 KB, over the limit of 1 KB"),
]


@pytest.mark.parametrize(("what", "raw", "message"), BAD, ids=[b[0] for b in BAD])
def test_every_bad_file_is_refused_with_its_reason(what, raw, message):
    with pytest.raises(ValueError) as err:
        datasets.parse_csv(raw, "f.csv", max_rows=30, max_bytes=1024 if what == "too large" else 10_000)
    assert message in str(err.value)


def test_good_files_in_the_usual_shapes():
    plain = datasets.parse_csv(GOOD, "a.csv")
    assert plain.rows == 5 and plain.columns == ("x", "y") and plain.x[2] == 1.0 and plain.y[4] == 7.1
    bom_semicolons = datasets.parse_csv("\ufeffx;y\n0;1.1\n0.5;2.4\n1;4.2\n1.5;5.3\n2;7.1\n".encode(), "b.csv")
    assert bom_semicolons.digest == plain.digest  # the same numbers: the same data set
    picked = datasets.parse_csv(b"day,h,w\n1,1.5,60\n2,1.6,64\n3,1.7,69\n", "c.csv", "h", "w")
    assert picked.columns == ("h", "w") and list(picked.y) == [60, 64, 69]
    assert datasets.numeric_columns(b"name,h,w\nann,1.5,60\nbob,1.6,64\n") == ["h", "w"]
    with pytest.raises(ValueError, match="two different columns"):
        datasets.parse_csv(b"h,w\n1,2\n3,4\n", "c.csv", "h", "h")


@pytest.mark.numeric
def test_a_run_on_own_data_is_the_plain_torch_loop_on_that_data():
    ds = datasets.parse_csv(GOOD, "a.csv")
    opts = (OptimizerConfig("Adam"), OptimizerConfig("SGD"))
    cfg = RunConfig(optimizers=opts, data=kept_config(ds), steps=300, batch_size=2)
    res = engine.run(cfg)
    assert np.array_equal(res.x, ds.x) and np.array_equal(res.y, ds.y)
    for lane, opt in zip(res.lanes, cfg.optimizers, strict=True):
        assert_follows_torch(np.stack([lane.w, lane.b], 1), cfg.replace(dtype="float32"), opt, 1e-4)
    assert res.target == pytest.approx(datasets.least_squares(ds.x, ds.y))
    assert RunConfig.from_json(cfg.to_json()) == cfg  # the config names the data set by its hash


def test_reading_a_data_sets_config_keeps_nothing_in_the_process():
    ds = datasets.parse_csv(b"x,y\n0.125,7\n0.5,9\n0.75,1\n", "unread.csv")
    cfg = RunConfig(data=dataset_config(ds), batch_size=2)
    with pytest.raises(ValueError, match="is not on this server"):
        engine.run(cfg)
    datasets.register(ds)  # what the page's entry point (session.keep_data) and the CLI do before training
    assert np.array_equal(engine.run(cfg.replace(steps=3)).x, ds.x)


def test_a_data_set_this_process_does_not_have_asks_for_the_file():
    cfg = RunConfig(data=dataset_config(datasets.parse_csv(GOOD, "a.csv")), batch_size=2).to_dict()
    cfg["data"]["dataset"] = "sha256:0000000000000000"
    with pytest.raises(ValueError, match="is not on this server: links do not carry files, upload it again"):
        engine.run(RunConfig.from_dict(cfg))
    cfg["data"]["dataset"] = "../etc/passwd"
    with pytest.raises(ValueError, match="is not a data set's hash"):
        RunConfig.from_dict(cfg)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, timeout=120)


def test_compare_with_data_trains_on_exactly_that_file(tmp_path):
    src = tmp_path / "heights.csv"
    src.write_bytes(b"day,height,weight\n1,1.50,60\n2,1.62,64\n3,1.71,69\n4,1.80,75\n")
    out = _cli("compare", "--out", str(tmp_path / "r"), "--optimizers", "Adam", "--steps", "50", "--quiet",
               "--data", str(src), "--x-col", "height", "--y-col", "weight")  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = pd.read_csv(tmp_path / "r" / "data.csv")
    assert list(data["x"]) == [1.50, 1.62, 1.71, 1.80] and list(data["y"]) == [60, 64, 69, 75]
    summary = pd.read_csv(tmp_path / "r" / "summary.csv")
    ds = datasets.parse_csv(src.read_bytes(), "heights.csv", "height", "weight")
    assert summary["data_name"][0] == "heights.csv" and summary["data_hash"][0] == ds.digest
    assert ds.digest in (tmp_path / "r" / "reproduce.py").read_text()


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (b"a,b\n1,2\n3,4\n", [], "has no column 'x' or 'y'"),
        (b"x,y\n1,2\n", [], "has one row"),
        (b"x,y\n1,2\n1,3\n", [], "no slope to fit"),
        (None, [], "No such file or directory"),
    ],
)
def test_compare_with_bad_data_is_one_line_and_exit_2(tmp_path, lab_cli, content, extra, message):
    src = tmp_path / "d.csv"
    if content is not None:
        src.write_bytes(content)
    code, _, err = lab_cli("compare", "--out", str(tmp_path / "r"), "--data", str(src), *extra)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.fixture(autouse=True)
def fresh_cache():
    caches.clear_all()
    yield
    caches.clear_all()


def _upload(at, name: str, raw: bytes):
    at.sidebar.file_uploader[0].upload(name, raw, "text/csv").run()
    assert not at.exception
    return at


def _sidebar_text(at) -> str:
    return " ".join(m.value for m in [*at.sidebar.caption, *at.sidebar.markdown, *at.sidebar.error, *at.sidebar.info])


def test_upload_train_and_switch_back_on_the_optimizers_page():
    at = _upload(open_page("optimizers"), "mine.csv", GOOD)
    assert "your data: mine.csv (5 rows, x → y)" in _sidebar_text(at)
    assert at.sidebar.number_input(key="shared.samples").disabled
    at.multiselect(key="opt.selected").set_value(["Momentum", "Adam"])
    at.number_input(key="opt.batch").set_value(2)
    at.button(key="opt.btn.train").click().run()
    assert not at.exception
    shown = table(at)
    assert "|w − best-fit w|" in shown.columns
    want = engine.run(
        RunConfig(
            optimizers=(OptimizerConfig("Momentum"), OptimizerConfig("Adam")),
            batch_size=2,
            data=kept_config(datasets.parse_csv(GOOD, "mine.csv")),
        )
    )
    for lane in want.lanes:
        assert shown.set_index("optimizer").loc[lane.optimizer, "w"] == pytest.approx(lane.final_w, abs=1e-6)
    at.sidebar.button(key="shared.btn.generated").click().run()
    assert "generated: 50 samples of y = 3x + 0.8" in _sidebar_text(at)


def test_a_bad_upload_keeps_the_data_in_use():
    at = _upload(open_page("optimizers"), "mine.csv", GOOD)
    at = _upload(at, "broken.csv", b"x,y\n1,2\n3,oops\n")
    text = _sidebar_text(at)
    assert "broken.csv, row 3, column 'y': 'oops' is not a number. The data in use is unchanged." in text
    assert "your data: mine.csv (5 rows" in text


def test_a_file_without_x_and_y_lets_the_learner_pick_two_columns():
    at = _upload(open_page("optimizers"), "people.csv", b"name,height,weight\nann,1.5,60\nbob,1.6,64\ncy,1.8,75\n")
    assert "has no x and y columns" in _sidebar_text(at)
    assert at.sidebar.selectbox(key="shared.pick_x").value == "height"
    at.sidebar.button(key="shared.btn.pick").click().run()
    assert "your data: people.csv (3 rows, height → weight)" in _sidebar_text(at)


def test_the_autograd_pages_fit_uses_the_uploaded_data_too():
    at = _upload(open_page("autograd"), "mine.csv", GOOD)
    assert not at.exception
    w = next(float(m.value) for m in at.metric if m.label == "w")
    best_w, _ = datasets.least_squares(*(lambda d: (d.x, d.y))(datasets.parse_csv(GOOD, "m.csv")))
    assert abs(w - best_w) < 0.05  # it fitted these five points (best w 2.98), not y = 3x + 0.8


def test_a_link_to_a_run_on_uploaded_data_asks_for_the_file_again():
    cfg = RunConfig(data=kept_config(datasets.parse_csv(GOOD, "mine.csv")), batch_size=2)
    query = to_query(PageState(cfg))
    assert query["data"] == cfg.data.dataset and query["data_name"] == "mine.csv" and "samples" not in query
    at = open_page("optimizers", {k: v for k, v in query.items() if k != "run"})
    notices = " ".join(w.value for w in at.warning)
    assert "trained on an uploaded data set, mine.csv" in notices and "Upload it again" in notices
    assert session.DATASET not in at.session_state


def test_removing_a_refused_file_clears_its_message_and_keeps_the_data():
    at = _upload(open_page("optimizers"), "mine.csv", GOOD)
    at = _upload(at, "broken.csv", b"x,y\n1,2\n")
    assert at.sidebar.error
    at.sidebar.file_uploader[0].clear().run()
    assert not at.exception and not at.sidebar.error
    assert "your data: mine.csv" in _sidebar_text(at)
