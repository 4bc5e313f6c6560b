"""The bad-input catalogue: every input — URL parameters, widgets, uploads, command-line flags —
driven with bad values. Each gives a clear message naming what was wrong, the app stays usable, and
nothing already computed is lost."""

from __future__ import annotations

import math

import pytest
from apptest_helpers import open_page, open_tab, table

from lab.app.query import from_query
from lab.core import caches, cli
from lab.core.config import RunConfig

BAD_VALUES = ["-1", "0", "1e99", "nan", "inf", "abc", "", "1.5", "[1,2]", "1,2,3"]
# Every parameter a link may carry (the override keys need their optimizer chosen).
URL_KEYS = [
    "steps",
    "seed",
    "samples",
    "noise",
    "true_w",
    "true_b",
    "batch",
    "device",
    "tol",
    "problem",
    "dtype",
    "repeats",
    "same_lr",
    "opt",
    "Adam.lr",
    "Adam.betas",
    "Adam.amsgrad",
    "Adam.eps",
    "Mini-batch SGD.batch_size",
    "RMSProp.alpha",
    "sched",
    "Adam.sched",
]
# (value, key) pairs that are in fact fine: the link keeps them and says nothing.
FINE = {
    ("0", "seed"), ("0", "noise"), ("1.5", "noise"), ("-1", "true_w"), ("0", "true_w"), ("1.5", "true_w"),
    ("-1", "true_b"), ("0", "true_b"), ("1.5", "true_b"), ("1.5", "tol"), ("1.5", "Adam.lr"), ("0", "Adam.eps"),
    ("1.5", "Adam.eps"), ("0", "RMSProp.alpha"), ("1", "Adam.amsgrad"), ("0", "Adam.amsgrad"), ("1.5", "same_lr"),
    ("", "sched"), ("", "Adam.sched"),  # no schedule: a constant rate
}  # fmt: skip
# Schedules written wrong in the ways a hand-edited link can be (each for the run and for Adam).
BAD_SCHEDULES = [
    "StepLR:step_size=-1",
    "StepLR:step_size=1.5",
    "CosineAnnealingLR:T_max=abc",
    "CosineAnnealingLR:eta_min=nan",
    "MultiStepLR:milestones=700,300",
    "OneCycleLR:total_steps=5",
    "CyclicLR:mode=zigzag",
    "LambdaLR",
    "StepLR:gamma",
    "ExponentialLR:gamma=2",
]
SESSION_CHECKED = {"device"}  # checked against this machine's devices when the session reads the link


def _query(key: str, value: str) -> dict[str, str]:
    q = {key: value}
    if "." in key:
        q["opt"] = "GD,Mini-batch SGD,Adam,RMSProp"
    return q


URL_CASES = [(k, v) for k in URL_KEYS for v in BAD_VALUES] + [
    (k, v) for k in ("sched", "Adam.sched") for v in BAD_SCHEDULES
]


@pytest.mark.parametrize(("key", "value"), URL_CASES, ids=[f"{k}={v!r}" for k, v in URL_CASES])
def test_every_url_parameter_with_every_bad_value(key, value):
    state = from_query(_query(key, value))  # never raises
    assert isinstance(state.config, RunConfig)  # a valid run: the page can train it
    named = [n for n in state.notices if repr(value) in n or key in n or key.split(".")[0] in n]
    if (value, key) in FINE or key in SESSION_CHECKED:
        return
    if state.notices:
        assert named, state.notices  # the notice names the parameter or the value
        return
    # Silently kept only if the value really is that parameter's value.
    applied = {
        "steps": state.config.steps,
        "seed": state.config.seed,
        "samples": state.config.data.samples,
        "batch": state.config.batch_size,
        "tol": state.config.tol,
        "repeats": state.config.repeats,
    }.get(key)
    assert applied is not None and math.isclose(float(applied), float(value)), (key, value)


def test_the_url_catalogue_leaves_nothing_silently_wrong():
    """A summary of the catalogue: how many cases, and that every obviously bad value was named."""
    named = 0
    for key, value in URL_CASES:
        state = from_query(_query(key, value))
        if value in ("nan", "inf", "abc", "[1,2]", "1e99") and key not in ("opt", *SESSION_CHECKED):
            assert state.notices, (key, value)
        named += bool(state.notices)
    assert len(URL_CASES) == len(URL_KEYS) * len(BAD_VALUES) + 2 * len(BAD_SCHEDULES) == 240
    assert named >= 190


@pytest.mark.parametrize("key", URL_KEYS)
def test_the_page_opens_on_a_bad_link_with_its_notice(key):
    at = open_page("optimizers", _query(key, "abc"))
    assert not at.exception
    assert at.warning, key  # the notice is on the page
    assert not at.button(key="opt.btn.train").disabled  # and Train all works


# ------------------------------------------------------------------------------------ command line
CLI_CASES = [
    (["--steps", "-1"], "steps = -1 is outside"),
    (["--steps", "0"], "steps = 0 is outside"),
    (["--steps", "1e99"], "invalid int value"),
    (["--steps", "abc"], "invalid int value"),
    (["--steps", ""], "invalid int value"),
    (["--seed", "-1"], "seed = -1 is outside"),
    (["--samples", "1"], "data.samples = 1 is outside"),
    (["--samples", "0"], "data.samples = 0 is outside"),
    (["--samples", "nan"], "invalid int value"),
    (["--noise", "-1"], "data.noise = -1.0 is outside"),
    (["--noise", "nan"], "data.noise = nan is outside"),
    (["--noise", "inf"], "data.noise = inf is outside"),
    (["--true-w", "1e9"], "data.true_w = 1000000000.0 is outside"),
    (["--true-b", "abc"], "invalid float value"),
    (["--batch-size", "0"], "batch_size = 0 is outside"),
    (["--batch-size", "999"], "batch_size = 999 is outside"),
    (["--device", "tpu"], "tpu"),
    (["--device", ""], "device"),
    (["--repeats", "0"], "repeats = 0 is outside"),
    (["--repeats", "1000"], "repeats = 1000 is outside"),
    (["--dtype", "float16"], "invalid choice: 'float16'"),
    (["--tol", "0"], "tol = 0.0 is outside"),
    (["--tol", "-1"], "tol = -1.0 is outside"),
    (["--objective", "moon"], "invalid choice: 'moon'"),
    (["--optimizers", ""], "optimizers must name at least one optimizer"),
    (["--optimizers", "Nope"], "unknown optimizer 'Nope'"),
    (["--optimizers", "Adam,Adam"], "optimizers must be distinct"),
    (["--optimizers", "SparseAdam"], "cannot train this model"),
    (["--data", "/no/such.csv"], "No such file or directory"),
    (["--scheduler", ""], "unknown scheduler ''"),
    (["--scheduler", "Cosine"], "unknown scheduler 'Cosine'"),
    (["--scheduler", "LambdaLR"], "is not offered: needs lr_lambda"),
    (["--scheduler", "StepLR:step_size=0"], "StepLR.step_size = 0 is outside the allowed range [1, 100000]"),
    (["--scheduler", "StepLR:step_size=abc"], "StepLR.step_size = 'abc' is not"),
    (["--scheduler", "StepLR:size=5"], "StepLR has no parameter 'size'"),
    (["--scheduler", "MultiStepLR:milestones=9,3"], "must be increasing"),
    (["--scheduler", "OneCycleLR:total_steps=10"], "total_steps = 10 must be at least the run's steps"),
    (["--scheduler", "CyclicLR:cycle_momentum=true"], "AdaGrad: CyclicLR cannot be used with Adagrad"),
    (["--unknown"], "unrecognized arguments: --unknown"),
]


def _run_cli(argv, capsys) -> tuple[int, str]:
    try:
        rc = cli.main(argv)
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    return rc, capsys.readouterr().err


@pytest.mark.parametrize(("flags", "message"), CLI_CASES, ids=[" ".join(f) for f, _ in CLI_CASES])
def test_every_compare_flag_with_bad_values(tmp_path, capsys, flags, message):
    rc, err = _run_cli(["compare", "--out", str(tmp_path / "r"), "--quiet", *flags], capsys)
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()  # nothing half-written


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--step", "0"], "--step 0 is outside"),
        (["--step", "-5"], "--step -5 is outside"),
        (["--step", "abc"], "invalid int value"),
        (["--step", "2000"], "--step 2000 is outside [1, --steps = 1000]"),
        (["--step", "1", "--steps", "0"], "steps = 0 is outside"),
        (["--step", "1", "--optimizer", "Nope"], "unknown optimizer 'Nope'"),
    ],
)
def test_explain_flags_with_bad_values(capsys, flags, message):
    argv = ["explain", *(["--optimizer", "Adam"] if "--optimizer" not in flags else []), *flags]
    rc, err = _run_cli(argv, capsys)
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1, err


# ---------------------------------------------------------------------- widgets and uploads, in a session
@pytest.fixture
def trained():
    caches.clear_all()
    at = open_page("optimizers", {"steps": "200"})
    at.button(key="opt.btn.train").click().run()
    assert not at.exception and len(table(at)) == 7
    yield at
    caches.clear_all()


def _still_there(at, rows: int = 7) -> None:
    assert not at.exception
    assert len(table(at)) == rows  # the run on screen
    assert len(at.session_state["opt.store"].entries) == 1  # and in the history


def test_no_optimizer_chosen(trained):
    at = trained
    at.multiselect(key="opt.selected").set_value([]).run()
    assert any("optimizers must name at least one optimizer" in e.value for e in at.error)
    assert at.button(key="opt.btn.train").disabled and at.button(key="opt.btn.tune").disabled
    _still_there(at)


def test_widgets_at_their_extremes_still_train(trained):
    at = trained
    at.number_input(key="opt.steps").set_value(1)
    at.toggle(key="opt.same_lr_on").set_value(True).run()
    at.number_input(key="opt.same_lr").set_value(10.0)  # diverges: data, not an error
    at.sidebar.number_input(key="shared.noise").set_value(100.0)
    at.run()
    at.button(key="opt.btn.train").click().run()
    assert not at.exception and len(table(at)) == 7


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("empty.csv", b""),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00"),  # a picture renamed
        ("one.csv", b"x,y\n1,2\n"),
        ("nan.csv", b"x,y\n1,2\n2,nan\n"),
        ("flat.csv", b"x,y\n1,2\n1,3\n"),
    ],
)
def test_a_bad_upload_after_a_run(trained, name, raw):
    at = trained
    at.sidebar.file_uploader[0].upload(name, raw, "text/csv").run()
    assert any(name in e.value and "The data in use is unchanged" in e.value for e in at.sidebar.error)
    _still_there(at)
    at.button(key="opt.btn.train").click().run()  # still trains, on the generated data
    assert not at.exception and "generated" in " ".join(c.value for c in at.sidebar.caption)


def test_an_explained_step_past_a_shorter_run_is_brought_back(trained):
    at = trained
    open_tab(at, "Explain a step")
    at.number_input(key="opt.explain.step").set_value(150).run()
    at.number_input(key="opt.steps").set_value(100)
    at.button(key="opt.btn.train").click().run()  # a new, shorter run: step 150 no longer exists
    assert not at.exception and at.number_input(key="opt.explain.step").value == 100


# ------------------------------------------------------------------- over the budget of a hosted server
@pytest.fixture
def hosted(monkeypatch, engine_calls):
    from lab.app import limits

    monkeypatch.setattr(limits, "LIMITS", limits.load({"LAB_PROFILE": "hosted"}))
    caches.clear_all()
    yield engine_calls
    caches.clear_all()


HEAVY_LINKS = [
    {"opt": "LBFGS,Rprop,Adadelta,Adafactor,Adamax", "steps": "30000", "samples": "5000", "repeats": "8"},
    {"opt": "LBFGS", "steps": "30000", "samples": "5000", "repeats": "8"},
    {"opt": "GD,SGD,Adam", "steps": "30000", "samples": "5000", "repeats": "8", "sched": "ReduceLROnPlateau"},
]


@pytest.mark.parametrize("query", HEAVY_LINKS, ids=["five-classes", "lbfgs-x8", "plateau-x8"])
def test_a_link_over_the_budget_is_refused_with_its_estimate(hosted, query):
    at = open_page("optimizers", {**query, "run": "1"})
    assert not at.exception and not hosted  # nothing trained
    (notice,) = [e.value for e in at.error if "LAB_MAX_SECONDS" in e.value]
    assert "over this server's budget of 4 s" in notice and "python -m lab compare" in notice
    assert "--steps 30000" in notice and "--repeats 8" in notice  # the command that runs it elsewhere


def test_a_form_over_the_budget_says_so_and_train_all_is_refused(hosted):
    at = open_page("optimizers", {"steps": "200", "problem": "rosenbrock", "run": "1"})  # LBFGS: torch.optim
    at.multiselect(key="opt.selected").set_value(["LBFGS", "Rprop"]).run()  # short: Live retrains it
    assert len(hosted) == 2
    at.number_input(key="opt.steps").set_value(30_000).run()
    at.number_input(key="opt.repeats").set_value(8).run()
    assert len(hosted) == 2  # too long for Live: nothing retrained on these edits
    assert any("over this server's budget of 4 s" in c.value for c in at.caption)
    at.button(key="opt.btn.train").click().run()
    assert len(hosted) == 2 and any("LAB_MAX_SECONDS" in e.value for e in at.error)
    assert len(at.session_state["opt.store"].entries) == 2  # the earlier runs are kept


def test_a_sweep_over_the_budget_is_refused(hosted):
    at = open_page("optimizers", {"steps": "30000", "samples": "5000"})
    at.button(key="opt.btn.tune").click().run()
    assert not at.exception and not hosted
    assert any(e.value.startswith("Cannot tune: This sweep would take about") for e in at.error)


def test_dry_run_prints_the_estimate_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "r"
    argv = ["compare", "--out", str(out), "--optimizers", "LBFGS,Rprop", "--steps", "30000", "--dry-run"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("estimated ") and "s to train 2 runs × 30,000 steps" in printed
    assert not out.exists()
    rc, err = _run_cli(["compare", "--out", str(out), "--dry-run", "--steps", "-1"], capsys)
    assert rc == 2 and "steps = -1 is outside" in err and not out.exists()


# ------------------------------------------------------------------------------------ class rooms
@pytest.fixture
def room_code(tmp_path):
    """An open room and a closed one in a fresh store of this test's: (open code, closed code)."""
    from lab.app import archive
    from lab.store import rooms

    archive.reset(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    store = archive.current()
    opened, _ = rooms.open_room(store, 4, 10)
    closed, key = rooms.open_room(store, 4, 10)
    rooms.close(store, closed.code, key)
    yield opened.code, closed.code
    archive.reset()


NO_SUCH_ROOM = "ZZZZZZ"  # drawn codes have 4 letters: never this one
SQL = "'; DROP TABLE rooms; --"
JOIN_CASES = [
    # (code, nickname, what the page says; None: joined)
    ("", "Ada", "Type the room's code"),
    ("x" * 10_000, "Ada", "this one has 64"),  # the box keeps 64 characters
    ("<script>alert(1)</script>", "Ada", "4 to 16 letters and digits"),
    ("<b>AB</b>", "Ada", "not a room code"),
    (SQL, "Ada", "4 to 16 letters and digits"),
    ("'OR'1'='1", "Ada", "not a room code"),
    ("😀😀😀😀", "Ada", "not a room code"),
    ("\u202eABCD", "Ada", "not a room code"),
    ("אבגדהו", "Ada", "not a room code"),
    (NO_SUCH_ROOM, "Ada", "There is no room ZZZZZZ"),
    ("closed", "Ada", "is closed"),
    ("open", "", "Choose a nickname"),
    ("open", "x" * 10_000, "at most 24 characters here (LAB_MAX_NICKNAME); this one has 200"),  # the box keeps 200
    ("open", "evil\u202etxt", "control or invisible characters (here U+202E)"),
    ("open", "a\x00b", "U+0000"),
    ("open", "<script>alert(1)</script>"[:24], None),  # a name like any other, shown as text
    ("open", SQL, None),
    ("open", "\"quoted\" 'name'", None),
    ("open", "Zoë 😀", None),
    ("open", "مرحبا", None),
]


@pytest.mark.parametrize(
    ("code", "nickname", "said"), JOIN_CASES, ids=[f"{c[:12]!r}-{n[:12]!r}" for c, n, _ in JOIN_CASES]
)
def test_joining_a_room_with_every_bad_value(room_code, code, nickname, said):
    from lab.app import rooms

    typed = {"open": room_code[0], "closed": room_code[1]}.get(code, code)
    at = open_page("class")
    at.text_input[0].set_value(typed)
    at.text_input[1].set_value(nickname)
    at.button(key="class.btn.join").click().run()
    assert not at.exception
    if said is None:
        assert at.session_state[rooms.MEMBER].nickname == nickname and not at.error
        assert f"as {nickname}." in " ".join(t.value for t in at.text)
        return
    assert any(said in e.value for e in at.error), [e.value for e in at.error]
    assert rooms.MEMBER not in at.session_state and at.button(key="class.btn.join")  # still there, usable
    if code and code not in ("open", "closed", NO_SUCH_ROOM):
        assert all(code not in e.value for e in at.error)  # what was typed is never repeated as Markdown


def test_a_teachers_key_that_is_not_the_rooms_takes_nothing_up(room_code):
    from lab.app import rooms

    at = open_page("class")
    at.text_input[2].set_value(room_code[0])
    at.text_input[3].set_value(SQL)
    at.button(key="class.btn.resume").click().run()
    assert not at.exception and rooms.TEACHING not in at.session_state
    assert any("not the teacher key" in e.value for e in at.error)
