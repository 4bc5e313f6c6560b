"""A work budget for a shared server: what a training costs before it runs (lab/core/cost.py), a
refusal over the budget, fair queueing of the trainings (lab/app/fairqueue.py), and a hard cap that
keeps what a too-long run computed."""

from __future__ import annotations

import shlex
import threading
import time

import numpy as np
import pytest
import torch
from apptest_helpers import open_page

from lab.app import fairqueue, limits, runs
from lab.core import cli, cost, engine, optimizers
from lab.core.config import DataConfig, OptimizerConfig, RunConfig, SchedulerConfig

pytestmark = pytest.mark.usefixtures("fresh_shared_cache")
EVERY = tuple(OptimizerConfig(n) for n in optimizers.registry().names())


# ------------------------------------------------------------------------------------------ the cost
CYCLING = ("GD", "SGD", "Mini-batch SGD", "Momentum", "RMSProp", "Adam", "Nesterov", "Adamax", "AdamW", "NAdam")


@pytest.mark.parametrize(
    ("scheduler", "names"),
    [
        (None, None),
        (SchedulerConfig.of("StepLR", step_size=100), None),
        (SchedulerConfig.of("ReduceLROnPlateau"), None),
        (SchedulerConfig.of("OneCycleLR", max_lr=0.1), None),
        # cycling momentum moves it even from 0 (GD, SGD): those lanes step through torch.optim
        (SchedulerConfig.of("OneCycleLR", max_lr=0.1, cycle_momentum=True), CYCLING),
        (SchedulerConfig.of("CyclicLR", base_lr=0.001, max_lr=0.1, cycle_momentum=True), CYCLING),
    ],
    ids=["constant", "StepLR", "ReduceLROnPlateau", "OneCycleLR", "OneCycleLR-momentum", "CyclicLR-momentum"],
)
def test_the_model_knows_which_lanes_the_engine_steps_through_torch_optim(scheduler, names):
    opts = EVERY if names is None else tuple(OptimizerConfig(n) for n in names)
    cfg = RunConfig(optimizers=opts, steps=50, scheduler=scheduler)
    starts = torch.zeros(1, 2, dtype=torch.float64)
    lanes = engine._make_lanes(cfg, starts, compiled=engine.COMPILED_ON_CPU)  # the regression on the CPU
    for lane, opt in zip(lanes, cfg.optimizers, strict=True):
        assert cost.batched(cfg, opt) == (lane.rule is not None), (opt.name, scheduler)


def test_an_estimate_grows_with_the_work_and_a_torch_lane_costs_more():
    base = RunConfig()
    e = cost.estimate
    assert e(base.replace(steps=2_000)) > e(base)
    assert e(base.replace(repeats=3)) > e(base)
    assert e(base.replace(data=DataConfig(samples=5_000))) > e(base)
    adam = RunConfig(optimizers=(OptimizerConfig("Adam"),))
    assert e(adam.replace(scheduler=SchedulerConfig.of("ReduceLROnPlateau"))) > 10 * e(adam)  # through torch.optim
    lbfgs = RunConfig(optimizers=(OptimizerConfig("LBFGS"),))
    longer = RunConfig(optimizers=(OptimizerConfig("LBFGS", (("max_iter", 100),)),))
    assert cost.evaluations(lbfgs.optimizers[0]) == 25 and cost.evaluations(longer.optimizers[0]) == 125
    assert e(longer) > e(lbfgs) > e(adam)  # compiled, a step may still evaluate its closure up to max_eval times
    plateau = SchedulerConfig.of("ReduceLROnPlateau")
    assert e(lbfgs.replace(scheduler=plateau)) > 10 * e(lbfgs)  # a rate that reacts to the loss: torch.optim
    on_a_surface = lbfgs.replace(objective="rosenbrock"), longer.replace(objective="rosenbrock")  # torch.optim
    assert e(on_a_surface[1]) > 4 * e(on_a_surface[0]) > 4 * e(adam)
    assert cost.estimate_replay(base.replace(steps=2_000), "Adam") > cost.estimate_replay(base, "Adam") > 0


def test_calibration_measures_this_machine_and_the_estimates_use_it(monkeypatch):
    monkeypatch.setattr(cost, "_calibrated", None)
    assert cost.costs() is cost.DEFAULT
    found = cost.calibrate()
    assert cost.costs() is found
    assert all(v > 0 for v in vars(found).values())
    assert cost.estimate(RunConfig()) == cost.estimate(RunConfig(), found)
    doubled = found.scaled(2.0)
    assert cost.estimate(RunConfig(), doubled) == pytest.approx(2 * cost.estimate(RunConfig(), found))


# --------------------------------------------------------------------------------------- the budget
def test_a_budget_refuses_with_the_estimate_the_budget_its_variable_and_a_command():
    hosted = limits.load({"LAB_PROFILE": "hosted"})
    assert hosted.seconds == 4 and limits.load({}).seconds == 0  # local: no budget
    assert limits.check_budget(1e6, "This run", "cmd", limits=limits.load({})) is None
    assert limits.check_budget(3.9, "This run", "cmd", limits=hosted) is None
    command = "python -m lab compare --steps 30000 --out results/"
    notice = limits.check_budget(1234.5, "This run", command, "2 steps fit", limits=hosted)
    assert "would take about 21 minutes of training" in notice and "budget of 4 s" in notice
    assert "LAB_MAX_SECONDS" in notice and "2 steps fit." in notice
    assert notice.endswith(f"`{command}`")  # as code: it is typed in a terminal
    assert limits.load({"LAB_MAX_SECONDS": "0", "LAB_PROFILE": "hosted"}).seconds == 0
    with pytest.raises(ValueError, match="LAB_MAX_SECONDS"):
        limits.load({"LAB_MAX_SECONDS": "-1"})


def test_the_command_trains_the_same_run():
    cfg = RunConfig(
        optimizers=(OptimizerConfig("LBFGS"), OptimizerConfig("Mini-batch SGD")),
        steps=3_000,
        seed=4,
        repeats=2,
        dtype="float64",
        data=DataConfig(samples=500, noise=0.2),
        scheduler=SchedulerConfig.of("StepLR", step_size=100),
    )
    words = shlex.split(cli.command(cfg))
    args = cli._parser().parse_args(words[3:])  # after "python -m lab"
    assert cli._config(args, cli._optimizer_list(args.optimizers), repeats=args.repeats, tol=args.tol) == cfg
    assert cli.command(RunConfig()) == "python -m lab compare --out results/"


def test_a_run_over_the_budget_is_refused_before_it_trains(monkeypatch, engine_calls):
    monkeypatch.setattr(limits, "LIMITS", limits.load({"LAB_PROFILE": "hosted"}))
    heavy = RunConfig(optimizers=EVERY[:12], steps=30_000, repeats=8, data=DataConfig(samples=5_000))
    with pytest.raises(runs.OverBudget, match="LAB_MAX_SECONDS") as refused:
        runs.fetch_or_train(runs.RunStore(), heavy)
    assert "python -m lab compare" in str(refused.value) and not engine_calls
    runs.fetch_or_train(runs.RunStore(), RunConfig())  # the default run is within
    assert len(engine_calls) == 1
    assert runs.time_limit(0.1) == 8.0 and runs.time_limit(10.0) == 20.0  # the cap: twice estimate or budget


# ------------------------------------------------------------------------------------------ the cap
# LBFGS on a surface steps through torch.optim (~1 ms a step): 50 000 steps are far past 0.05 s
SLOW = dict(optimizers=(OptimizerConfig("Adam"), OptimizerConfig("LBFGS")), steps=50_000, objective="rosenbrock")


def test_a_run_past_its_time_limit_keeps_the_steps_it_reached():
    cfg = RunConfig(**SLOW)
    res = engine.run(cfg, time_limit=0.05)
    done = res.config.steps
    assert res.stopped.startswith(f"stopped at step {done:,} of 50,000") and 0 < done < 50_000
    assert all(len(ln.loss) == done + 1 and len(ln.w) == done + 1 for ln in res.lanes)
    same = engine.run(cfg.replace(steps=done))  # the very numbers of a run of that many steps
    assert same.stopped is None
    for a, b in zip(res.lanes, same.lanes, strict=True):
        np.testing.assert_array_equal(a.loss, b.loss)
    assert engine.run(cfg.replace(steps=300)).stopped is None  # no limit: never stopped


def test_a_stopped_run_with_a_schedule_says_the_run_it_is():
    """T_max followed the 50 000 steps asked: the stopped run's config writes it out, so a run of
    that config trains the very same steps (and a cache keyed by it holds the truth)."""
    cfg = RunConfig(**SLOW, scheduler=SchedulerConfig.of("CosineAnnealingLR"))
    res = engine.run(cfg, time_limit=0.05)
    assert res.stopped is not None and res.config.steps < 50_000
    assert res.config.scheduler.kwargs(res.config.steps)["T_max"] == 50_000
    again = engine.run(res.config)
    for a, b in zip(res.lanes, again.lanes, strict=True):
        np.testing.assert_array_equal(a.loss, b.loss)
        np.testing.assert_array_equal(a.lr, b.lr)


def test_a_stopped_run_is_kept_in_the_session_under_what_was_asked_not_shared(monkeypatch, engine_calls):
    monkeypatch.setattr(runs, "time_limit", lambda estimate: 0.05)
    cfg = RunConfig(**SLOW)
    store = runs.RunStore()
    entry, _, source = runs.fetch_or_train(store, cfg)
    assert entry.result.stopped is not None and entry.config.steps < 50_000 and source == "trained"
    assert entry.asked == cfg and entry.config == entry.result.config
    assert runs.SHARED.get(cfg.to_json()) is None  # another visitor would train it (and be told)
    again, _, source = runs.fetch_or_train(store, cfg)  # asking again finds it: no second 2x-budget run
    assert again is entry and source == "session" and len(engine_calls) == 1
    from lab.app import view
    from lab.app.query import PageState

    assert "settings changed" not in view.results_heading([entry], PageState(cfg))


def test_a_sweep_past_its_time_limit_is_refused_not_kept():
    from lab.core import tuning

    with pytest.raises(ValueError, match=r"the sweep was stopped past its time limit of 0.1 s \(stopped at step"):
        tuning.sweep(RunConfig(optimizers=(OptimizerConfig("Adam"),), steps=50_000, scheduler="ReduceLROnPlateau"),
                     time_limit=0.1)  # fmt: skip


def test_a_class_asking_the_same_run_at_once_trains_it_once(monkeypatch, engine_calls, fresh_shared_cache):
    """The others wait for the first one's slot, then find its run in the shared cache: it is kept
    there before the slot is freed (kept just after, a loaded server let the next one in the queue
    find the cache still empty and train it again; the slowed-down ``put`` makes that moment long)."""
    monkeypatch.setattr(runs, "QUEUE", fairqueue.FairQueue(slots=1, short_slots=0))
    real_put = runs.SHARED.put

    def slow_put(*args, **kwargs):
        time.sleep(0.2)
        return real_put(*args, **kwargs)

    monkeypatch.setattr(runs.SHARED, "put", slow_put)
    cfg = RunConfig(optimizers=(OptimizerConfig("LBFGS"),), steps=1_000, objective="rosenbrock")  # ~1 s: they overlap
    sources = []

    def student(i):
        sources.append(runs.fetch_or_train(runs.RunStore(), cfg, session=f"s{i}")[2])

    threads = [threading.Thread(target=student, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(engine_calls) == 1 and sorted(sources) == ["shared cache"] * 3 + ["trained"]


# ---------------------------------------------------------------------------------------- the queue
class _Waiter(threading.Thread):
    """A request for a slot in a thread: records its places while waiting, then holds the slot
    until released."""

    def __init__(self, queue, session, short=False):
        super().__init__(daemon=True)
        self.queue, self.session, self.short = queue, session, short
        self.places, self.started, self.release, self.error = [], threading.Event(), threading.Event(), None

    def run(self):
        try:
            with self.queue.slot(self.session, self.short, self.places.append, poll=0.01):
                self.started.set()
                self.release.wait(5)
        except fairqueue.Replaced as exc:
            self.error = exc


def _settle():
    time.sleep(0.1)


def _holding(queue, session: str, short: bool = False) -> _Waiter:
    """A request that got its slot (and holds it until released)."""
    waiter = _Waiter(queue, session, short)
    waiter.start()
    assert waiter.started.wait(1)
    return waiter


def test_sessions_are_served_first_come_first_served_and_told_their_place():
    q = fairqueue.FairQueue(slots=1, short_slots=0)
    a, b, c = _holding(q, "a"), _Waiter(q, "b"), _Waiter(q, "c")
    b.start()
    _settle()
    c.start()
    _settle()
    assert not b.started.is_set() and not c.started.is_set()
    assert b.places[-1] == 1 and c.places[-1] == 2
    a.release.set()
    assert b.started.wait(1) and not c.started.is_set()
    b.release.set()
    assert c.started.wait(1)
    c.release.set()
    c.join(1)
    assert q.snapshot() == (0, 0)  # nothing leaked


def test_a_new_request_of_a_session_replaces_its_waiting_one_and_waits_for_its_running_one():
    q = fairqueue.FairQueue(slots=2, short_slots=0)
    first = _holding(q, "a")
    second = _Waiter(q, "a")  # the same session: waits though a slot is free
    second.start()
    _settle()
    assert not second.started.is_set()
    third = _Waiter(q, "a")  # and asking again replaces the waiting one
    third.start()
    _settle()
    second.join(1)
    assert isinstance(second.error, fairqueue.Replaced)
    other = _holding(q, "b")  # another session uses the free slot meanwhile
    first.release.set()
    assert third.started.wait(1)
    for w in (third, other):
        w.release.set()


def test_short_work_has_a_slot_of_its_own():
    q = fairqueue.FairQueue(slots=1, short_slots=1)
    long_ = _holding(q, "heavy")
    waiting_long = _Waiter(q, "heavy2")
    waiting_long.start()
    short = _Waiter(q, "student", short=True)
    short.start()
    assert short.started.wait(1) and not waiting_long.started.is_set()  # passes the long queue
    for w in (short, long_):
        w.release.set()
    assert waiting_long.started.wait(1)
    waiting_long.release.set()


def test_a_short_request_takes_a_free_general_slot_when_its_own_is_taken():
    q = fairqueue.FairQueue(slots=2, short_slots=1)
    held = [_holding(q, "heavy"), _holding(q, "student1", short=True), _holding(q, "student2", short=True)]
    assert q.snapshot() == (3, 0)
    late = _Waiter(q, "heavy2")  # both general slots in use (one by a short request): a long one waits
    late.start()
    _settle()
    assert not late.started.is_set()
    for w in held:
        w.release.set()
    assert late.started.wait(1)
    late.release.set()


def test_a_request_that_will_not_wait_is_told_at_once():
    q = fairqueue.FairQueue(slots=1, short_slots=0)
    holder = _holding(q, "a")
    with pytest.raises(fairqueue.Busy), q.slot("b", wait=False):
        pass
    assert q.snapshot() == (1, 0)
    holder.release.set()


def test_a_waiting_request_that_fails_leaves_the_queue():
    q = fairqueue.FairQueue(slots=1, short_slots=0)
    holder = _holding(q, "a")

    def gone(place):
        raise RuntimeError("the tab was closed")

    with pytest.raises(RuntimeError), q.slot("b", on_wait=gone, poll=0.01):
        pass
    assert q.snapshot() == (1, 0)
    holder.release.set()


# ------------------------------------------------------------------------------------------ the app
def test_a_link_over_the_budget_says_so_and_trains_nothing(monkeypatch, engine_calls):
    monkeypatch.setattr(limits, "LIMITS", limits.load({"LAB_PROFILE": "hosted"}))
    at = open_page("optimizers", {"opt": "LBFGS,Rprop,Adadelta,Adafactor,Adamax", "steps": "30000",
                                  "samples": "5000", "repeats": "8", "run": "1"})  # fmt: skip
    assert not at.exception and not engine_calls
    assert any("over this server's budget of 4 s" in e.value and "LAB_MAX_SECONDS" in e.value for e in at.error)
    assert any("over this server's budget" in c.value for c in at.caption)  # the form says it as well


def test_a_stopped_run_is_shown_with_why(monkeypatch):
    monkeypatch.setattr(runs, "time_limit", lambda estimate: 0.05)
    at = open_page("optimizers", {"opt": "LBFGS", "steps": "50000", "problem": "rosenbrock", "run": "1"})
    assert not at.exception
    assert any("stopped at step" in w.value and "Shown: the" in w.value for w in at.warning)


def test_the_explain_refusal_suggests_a_command_that_parses():
    from lab.ui.optimizers.tabs.explain import cli_explain

    cfg = RunConfig(steps=3_000, seed=2, repeats=4, tol=1e-8, data=DataConfig(samples=500))
    words = shlex.split(cli_explain(cfg, "Adam", 25))
    args = cli._parser().parse_args(words[3:])  # explain has no --repeats or --tol: they are left out
    assert (args.optimizer, args.step) == ("Adam", 25)
    assert cli._config(args, (OptimizerConfig("Adam"),)) == cfg.replace(
        optimizers=(OptimizerConfig("Adam"),), repeats=1, tol=RunConfig().tol
    )
