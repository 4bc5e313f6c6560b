"""The training engine: a :class:`RunConfig` in, a :class:`RunResult` out.

Every optimizer of a run, from every start ("lane"), trains on the same data from the same
initial parameters. Lanes whose torch.optim class is an instance of :mod:`lab.core.rules` are
stacked into one (2, lanes) tensor and advanced together, so one step of all of them costs a
handful of tensor operations in total instead of a forward, backward and optimizer step each;
on the CPU the regression's steps run compiled (:mod:`lab.core.kernel`), whole chunks of steps
in one call, and so do its LBFGS lanes (:mod:`lab.core.lbfgs`: several evaluations a step). The
others (a surface's LBFGS, a schedule that reacts to the loss or moves momentum) run through their
real torch.optim class, one lane at a time. Tests check every path against plain torch.optim loops.

No global state: data, starts and batch orders come from generators seeded by the config, so
equal configs give equal results, also from several threads at once.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lab.core import devices, objectives, schedulers
from lab.core.batch_layout import Layout
from lab.core.config import OptimizerConfig, RunConfig, SchedulerConfig
from lab.core.data import BatchStream
from lab.core.results import LaneResult, RunResult
from lab.core.rules import ETA_N, ETA_Q, GENERIC, KIND_CONSTS, C, D, E, K, Rule, rule_for
from lab.core.tensor_loop import Moments, TensorLoop, update

CHUNK = 512  # steps between progress reports, cancel checks and batch-table refills
COMPILED_WORK = 1 << 23  # compiled chunks: about this many residuals (a few ms), at most MAX_CHUNK steps
MAX_CHUNK = 16_384
NUMPY_ON_CPU = True  # the batched loop on NumPy views on the CPU (tests switch it off to check the torch path)
# The regression's batched loop compiled on the CPU, where Numba is installed (requirements.txt pins
# it; without it the NumPy loop gives the same numbers, slower). Tests switch it off to check the loop.
COMPILED_ON_CPU = importlib.util.find_spec("numba") is not None


def keep_steps(hist, lanes, done: int):
    """The first ``done`` steps of a part's history (a run stopped early): its rows, and the rates
    its lanes' schedules recorded."""
    for ln in lanes:
        if ln.lr is not None:
            ln.lr = ln.lr[:done]
    return hist[: done + 1]


class RunCancelled(Exception):
    """Raised when the cancel event is set during a run."""


@dataclass
class _Lane:
    opt: OptimizerConfig
    repeat: int
    start: tuple[float, float]
    batch_key: tuple[int, int]  # (batch size, repeat): lanes with equal keys see equal batches
    rule: Rule | None
    sched: SchedulerConfig | None  # its learning-rate schedule (None: a constant rate)
    lr: np.ndarray | None  # the schedule's rate of every step, when known before the run


class _Stacked:
    """All rule-based lanes as one (2, lanes) parameter stack — row 0 every lane's w, row 1 its b —
    advanced in lock-step.

    The state lives in torch tensors on the run's device. On the CPU the step loop works on NumPy
    views of them (same memory, same dtype): the arrays are tiny, so a step's cost is the number of
    operations, and a NumPy operation costs a fraction of a torch one. Elsewhere it works on the
    tensors themselves. The update is written once (:func:`lab.core.tensor_loop.update`), with
    operators both understand. For the regression on the CPU the same steps run compiled instead
    (:mod:`lab.core.kernel`), a chunk of thousands of steps per call: the Python loop's cost per
    step was its ~20 operations' overhead; on a GPU they run from fixed buffers, a chunk replayed as
    one CUDA graph (:class:`lab.core.tensor_loop.TensorLoop`).
    """

    def __init__(self, lanes: list[_Lane], obj, streams: dict, steps: int, dtype, device):
        self.lanes, self.obj, self.streams = lanes, obj, streams
        self.dtype, self.device = dtype, device
        self.keys = sorted({ln.batch_key for ln in lanes})
        self.lane_batch = [self.keys.index(ln.batch_key) for ln in lanes]
        self.numpy = device.type == "cpu" and NUMPY_ON_CPU
        self.xp = np if self.numpy else torch

        rules = [ln.rule for ln in lanes if ln.rule is not None]
        if len(rules) != len(lanes):
            raise ValueError("a lane without an update rule cannot be stacked: it runs through torch.optim")
        self.rules = rules
        generic = [r for r in rules if r.kind == GENERIC]  # the other kinds keep their own terms
        self.moments = Moments(
            lam=self._row([r.lam for r in rules]),
            a=self._row([r.a for r in rules]),
            beta=self._row([r.beta for r in rules]),
            gamma=self._row([r.gamma for r in rules]),
            use_lam=any(r.lam for r in generic),
            use_m=any(r.a for r in generic) or any(r.table(0, 1)[0, C] for r in generic),
            use_v=any(r.gamma or r.v0 for r in generic),
        )
        self.p = torch.tensor([ln.start for ln in lanes], dtype=dtype, device=device).t().contiguous()
        self.m = torch.tensor([r.m0 for r in rules], dtype=dtype, device=device).expand_as(self.p).clone()
        self.v = torch.tensor([r.v0 for r in rules], dtype=dtype, device=device).expand_as(self.p).clone()
        self.u = torch.zeros_like(self.p)
        self.hist = torch.full((steps + 1, 2, len(lanes)), float("nan"), dtype=dtype, device=device)
        self.hist[0] = self.p
        self.alive, self.seconds = True, 0.0
        self.compiled = compiles(obj, device)
        if len(generic) < len(rules) and not self.compiled:
            raise ValueError("a rule of another kind than the generic one runs only in the compiled loop")
        self.chunk = CHUNK
        self.tensors = None  # the regression on tensors (a GPU): chunks from fixed buffers, CUDA graphs
        if self.compiled:
            self._compiled_layout()
        elif not self.numpy and isinstance(obj, objectives.Regression):
            state = (self.p, self.m, self.v)
            ordered = [self.streams[k] for k in self.keys]
            self.tensors = TensorLoop(obj, ordered, self.lane_batch, self.moments, state, min(CHUNK, steps))
            self.chunk = self.tensors.size

    def _compiled_layout(self) -> None:
        """What the compiled loop needs besides the state: the data, and for each lane whether it
        uses all of it, else where its batch's indices sit among the step's indices."""
        from lab.core import kernel  # Numba is imported (0.2 s) by the first run that needs it, not by every import

        self.data = kernel.Data.of(*self.obj.padded_data())
        self.kind = np.array([r.kind for r in self.rules], dtype=np.int64)
        consts = [list(r.consts) + [0.0] * (KIND_CONSTS - len(r.consts)) for r in self.rules]
        self.consts = np.array(consts, dtype=np.float64).T.copy()  # (KIND_CONSTS, lanes): torch's Python floats
        self.layout = Layout.of([self.streams[k] for k in self.keys], self.lane_batch)
        self.chunk = max(1, min(MAX_CHUNK, COMPILED_WORK // max(1, self.layout.work)))

    def _array(self, t: torch.Tensor):
        return t.numpy() if self.numpy else t

    def _row(self, values):
        """One value per lane, broadcast over w and b."""
        return self._array(torch.tensor(values, dtype=self.dtype, device=self.device))

    def params(self) -> torch.Tensor:
        """(steps + 1, lanes, 2): every lane's (w, b) at every step."""
        return self.hist.transpose(1, 2)

    def truncate(self, done: int) -> None:
        """Keep the first ``done`` steps (a run stopped early)."""
        self.hist = keep_steps(self.hist, self.lanes, done)

    def advance(self, done: int, count: int) -> None:
        t0 = time.perf_counter()
        table = np.stack([r.table(done, done + count) for r in self.rules], 2)  # (count, COEFFS, lanes)
        batches = [self.streams[k].take_padded(count) for k in self.keys] if self.obj.stochastic else []
        if self.compiled:
            self._compiled_steps(done, table, batches)
        elif self.tensors is not None:
            self.tensors.advance(table, batches, self.hist[done + 1 : done + 1 + count])
            self.alive = bool(torch.isfinite(self.p).any())  # syncs with the device once per chunk
        else:
            self._loop(done, count, table, batches)
        self.seconds += time.perf_counter() - t0

    def _compiled_steps(self, done: int, table: np.ndarray, batches: list) -> None:
        from lab.core import kernel

        p, m, v, u, hist = (t.numpy() for t in (self.p, self.m, self.v, self.u, self.hist))
        state = kernel.State(p=p, m=m, v=v, u=u, hist=hist)
        chosen = self.layout.batches(batches, len(table), self.dtype)
        update = kernel.Update(
            coef=table.astype(state.p.dtype),
            **vars(self.moments),
            kind=self.kind,
            consts=self.consts,
            wide=table,
        )
        kernel.regression_steps(state, self.data, chosen, update, done)
        self.alive = bool(np.isfinite(state.p).any())

    def _loop(self, done: int, count: int, table: np.ndarray, batches: list) -> None:
        """The batched steps one at a time, on NumPy views (CPU), or on the tensors of a surface
        elsewhere (the regression's run in :class:`TensorLoop` there)."""
        coef = self._array(torch.from_numpy(table).to(self.device, self.dtype))
        # A coefficient equal at every step of the chunk is one array; the others one row per step.
        columns = [
            itertools.repeat(coef[0, j], count) if (table[:, j] == table[0, j]).all() else coef[:, j]
            for j in (C, D, ETA_N, ETA_Q, K, E)
        ]
        skip_d = bool((table[:, D] == 1.0).all())  # no decay of the weights in this chunk
        grad = self.obj.gradients(batches, self.lane_batch, count, self.numpy)
        xp = self.xp
        p, m, v, hist = self._array(self.p), self._array(self.m), self._array(self.v), self._array(self.hist)
        with np.errstate(all="ignore"):  # a diverging lane overflows: non-finite is data, not a warning
            for i, coefs in enumerate(zip(*columns, strict=True)):
                # The new p is written straight into the history (p is a view of its previous row,
                # so it is never changed in place).
                p = update(xp, grad(i, p), p, m, v, self.moments, coefs, hist[done + 1 + i], decay=not skip_d)
        self.p = torch.from_numpy(p) if self.numpy else p
        self.alive = bool(xp.isfinite(p).any())  # syncs with the device once per chunk


def compiles(obj, device: torch.device) -> bool:
    """Whether the rule-based lanes of a run on ``obj`` and ``device`` step in the compiled loop:
    the regression on the CPU, where Numba is installed. Only there do the kinds of rule besides
    the generic one (AMSGrad, Adamax …) run; elsewhere those classes step through torch.optim."""
    return device.type == "cpu" and NUMPY_ON_CPU and COMPILED_ON_CPU and isinstance(obj, objectives.Regression)


def lbfgs_compiles(lane: _Lane, obj, device: torch.device) -> bool:
    """Whether ``lane`` is an LBFGS lane that steps compiled (:mod:`lab.core.lbfgs`): on the
    regression on the CPU, at a constant rate or a schedule's known rates."""
    known_rate = lane.sched is None or lane.lr is not None
    return lane.opt.spec.torch_class == "LBFGS" and known_rate and compiles(obj, device)


class _TorchLane:
    """One lane run by its real torch.optim class: zero_grad, backward, step (with a closure), and
    its schedule's step after it (with the step's loss, for one that reacts to it)."""

    def __init__(self, lane: _Lane, obj, stream: BatchStream | None, steps: int):
        self.obj, self.stream = obj, stream
        self.params = obj.leaf_params(*lane.start)
        self.optimizer = lane.opt.spec.cls(self.params, **lane.opt.kwargs)
        self.sched = None
        if lane.sched is not None:
            self.sched = lane.sched.attach(self.optimizer, steps)
        self.hist = torch.full((steps + 1, 2), float("nan"), dtype=torch.float64)
        self.hist[0] = torch.tensor(lane.start, dtype=torch.float64)
        self.lr = np.full(steps, np.nan) if self.sched is not None else None  # the rate each step used
        self.alive, self.seconds, self.chunk = True, 0.0, CHUNK

    def truncate(self, done: int) -> None:
        """Keep the first ``done`` steps (a run stopped early)."""
        self.hist = self.hist[: done + 1]
        if self.lr is not None:
            self.lr = self.lr[:done]

    def advance(self, done: int, count: int) -> None:
        if not self.alive:
            return
        t0 = time.perf_counter()
        batches = self.stream.take(count) if self.stream is not None else [None] * count
        opt, params, obj = self.optimizer, self.params, self.obj
        for i, idx in enumerate(batches):

            def closure(idx=idx):
                opt.zero_grad()
                loss = obj.batch_loss(params, idx)
                loss.backward()
                return loss

            if self.lr is not None:
                self.lr[done + i] = opt.param_groups[0]["lr"]
            with torch.enable_grad():
                loss = opt.step(closure)
            if self.sched is not None:
                self.sched.step(loss)
            flat = torch.cat([p.detach().reshape(-1) for p in params]).to("cpu", torch.float64)
            self.hist[done + 1 + i] = flat
            if not torch.isfinite(flat).all():
                self.alive = False
                break
        devices.synchronize(params[0].device)
        self.seconds += time.perf_counter() - t0


def _known_schedules(cfg: RunConfig) -> dict[int, schedulers.Schedule]:
    """Index of an optimizer of ``cfg`` -> its schedule's rates, for schedules that only set the rate
    (known before the run): every optimizer of one class under one schedule in one pass."""
    groups: dict[tuple, list[int]] = {}
    for i, opt in enumerate(cfg.optimizers):
        sched = cfg.scheduler_of(opt)
        if sched is not None and not sched.spec.reacts_to_loss:
            groups.setdefault((sched, opt.spec.torch_class), []).append(i)
    known: dict[int, schedulers.Schedule] = {}
    for (sched, torch_class), members in groups.items():
        kwargs = [cfg.optimizers[i].kwargs for i in members]
        found = schedulers.schedules(sched.name, sched.kwargs(cfg.steps), torch_class, kwargs, cfg.steps)
        known.update(zip(members, found, strict=True))
    return known


def _make_lanes(cfg: RunConfig, starts: torch.Tensor, compiled: bool) -> list[_Lane]:
    lanes, known = [], _known_schedules(cfg)
    for i, opt in enumerate(cfg.optimizers):
        rule, sched, lr = rule_for(opt.spec.torch_class, opt.kwargs, compiled=compiled), cfg.scheduler_of(opt), None
        if sched is not None:
            # A schedule that only sets the rate is known before the run, from the real classes, and
            # the batched rule follows it. One that reacts to the loss, or also changes momentum or
            # betas, runs with the real classes inside the run.
            rule = None
            if i in known:
                lr = known[i].lr
                if not known[i].changes:
                    rule = rule_for(opt.spec.torch_class, opt.kwargs, lr, compiled=compiled)
        for r in range(cfg.repeats):
            size = cfg.batch_size_of(opt) if cfg.is_regression else cfg.data.samples
            start = (float(starts[r, 0]), float(starts[r, 1]))
            lanes.append(_Lane(opt, r, start, (size, r), rule, sched, lr))
    return lanes


def run(
    cfg: RunConfig,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    time_limit: float | None = None,
) -> RunResult:
    """Train every optimizer of ``cfg`` side by side and return CPU results.

    ``progress`` is called with the fraction done after every chunk of steps; when ``cancel`` is
    set the run stops at the next chunk with :class:`RunCancelled`. Past ``time_limit`` seconds the
    run stops at the next chunk and returns what it computed: a run of the steps done (its config's
    ``steps``), with ``stopped`` saying so. Raises ``ValueError`` for a device this machine does not
    have.
    """
    device = devices.resolve(cfg.device)
    dtype = getattr(torch, cfg.dtype)
    if device.type == "mps" and dtype == torch.float64:
        raise ValueError("dtype = 'float64' is not supported on device 'mps'; choices there: ['float32']")
    t_start = time.perf_counter()
    obj, starts = objectives.build(cfg, dtype, device)
    lanes = _make_lanes(cfg, starts, compiles(obj, device))
    n = cfg.data.samples

    def stream(key: tuple[int, int]) -> BatchStream | None:
        return BatchStream(n, key[0], cfg.seed, key[1]) if obj.stochastic else None

    fast = [ln for ln in lanes if ln.rule is not None]
    ruleless = [(ln, lbfgs_compiles(ln, obj, device)) for ln in lanes if ln.rule is None]
    bfgs_lanes = [ln for ln, compiled in ruleless if compiled]
    slow = [ln for ln, compiled in ruleless if not compiled]  # (not `ln in bfgs_lanes`: == on lanes compares arrays)
    with torch.no_grad():
        stacked = None
        if fast:
            keys = {ln.batch_key for ln in fast}
            stacked = _Stacked(fast, obj, {k: stream(k) for k in keys}, cfg.steps, dtype, device)
        bfgs = None
        if bfgs_lanes:
            from lab.core import lbfgs  # imports Numba: only for a run that has such lanes

            keys = {ln.batch_key for ln in bfgs_lanes}
            bfgs = lbfgs.Lanes(bfgs_lanes, obj, {k: stream(k) for k in keys}, cfg.steps, dtype)
        singles = [_TorchLane(ln, obj, stream(ln.batch_key), cfg.steps) for ln in slow]
        parts = ([stacked] if stacked else []) + ([bfgs] if bfgs else []) + singles
        chunk = min(part.chunk for part in parts)
        done, stopped = 0, None
        while done < cfg.steps:
            if cancel is not None and cancel.is_set():
                raise RunCancelled(f"cancelled after {done} of {cfg.steps} steps")
            spent = time.perf_counter() - t_start
            if time_limit is not None and done > 0 and spent > time_limit:
                stopped = f"stopped at step {done:,} of {cfg.steps:,}: past its time limit of {time_limit:.1f} s"
                break
            count = min(chunk, cfg.steps - done)
            for part in parts:
                if part.alive:
                    part.advance(done, count)
            done += count
            if progress is not None:
                progress(done / cfg.steps)
            if not any(part.alive for part in parts):
                break  # everything diverged: nothing left to compute

        hist = {}
        asked = cfg.steps  # a schedule's derived settings (T_max, total_steps) follow the steps asked
        if stopped is not None:  # what was computed: the first `done` steps
            for part in parts:
                part.truncate(done)
            cfg = _reached(cfg, done)
        if stacked is not None:
            fast_params = stacked.params()
            fast_loss = obj.loss(fast_params)  # in the run's dtype, as the tutorial's loop prints it
            fast_hist = fast_params.to("cpu", torch.float64)
            for i, ln in enumerate(fast):
                hist[id(ln)] = (fast_hist[:, i], fast_loss[:, i], stacked.seconds / len(fast), ln.lr)
        if bfgs is not None:
            for i, ln in enumerate(bfgs_lanes):
                path = bfgs.path(i)
                hist[id(ln)] = (path, obj.loss(path), bfgs.seconds / len(bfgs_lanes), ln.lr)
        for ln, single in zip(slow, singles, strict=True):
            hist[id(ln)] = (single.hist, obj.loss(single.hist), single.seconds, single.lr)
        results = tuple(_lane_result(cfg, ln, obj, *hist[id(ln)], asked) for ln in lanes)

    data = (obj.x64.numpy(), obj.y64.numpy()) if isinstance(obj, objectives.Regression) else (None, None)
    return RunResult(
        config=cfg,
        lanes=results,
        x=data[0],
        y=data[1],
        optimum=obj.optimum,
        min_loss=obj.min_loss,
        device=str(device),
        torch_version=torch.__version__,
        seconds=time.perf_counter() - t_start,
        stopped=stopped,
    )


def _reached(cfg: RunConfig, done: int) -> RunConfig:
    """The config of a run stopped after ``done`` steps: those steps, and every schedule with the
    settings it took from the steps asked (T_max, total_steps …) written out — a run of this config
    trains the very same steps."""

    def pinned(sched):
        return None if sched is None else SchedulerConfig.of(sched.name, **sched.kwargs(cfg.steps))

    opts = tuple(dataclasses.replace(o, scheduler=pinned(o.scheduler)) for o in cfg.optimizers)
    return cfg.replace(steps=done, scheduler=pinned(cfg.scheduler), optimizers=opts)


def _lane_result(
    cfg: RunConfig,
    ln: _Lane,
    obj,
    params: torch.Tensor,
    loss: torch.Tensor,
    seconds: float,
    lr: np.ndarray | None,
    asked: int,
) -> LaneResult:
    losses, p = loss.numpy(), params.numpy()
    ok = np.isfinite(losses) & np.isfinite(p).all(1)
    diverged_at = None if ok.all() else int(np.argmin(ok))
    end = len(losses) if diverged_at is None else diverged_at
    losses, p = losses[:end], p[:end]
    steps_to_tol = first_within = None
    if diverged_at is None:
        excess = losses - (obj.min_loss if obj.min_loss is not None else 0.0)
        above = excess > cfg.tol
        if not above.all():
            first_within = int(np.argmin(above))
        last_above = np.flatnonzero(above)
        if len(last_above) == 0:
            steps_to_tol = 0
        elif last_above[-1] < len(losses) - 1:
            steps_to_tol = int(last_above[-1]) + 1
    return LaneResult(
        optimizer=ln.opt.display,
        name=ln.opt.name,
        repeat=ln.repeat,
        torch_class=ln.opt.spec.torch_class,
        hyperparams={k: list(v) if isinstance(v, tuple) else v for k, v in ln.opt.kwargs.items()},
        batch_size=ln.batch_key[0] if cfg.is_regression else None,
        w0=ln.start[0],
        b0=ln.start[1],
        loss=losses,
        w=p[:, 0],
        b=p[:, 1],
        steps_to_tol=steps_to_tol,
        first_within=first_within,
        seconds=seconds,
        diverged_at=diverged_at,
        lr=None if lr is None else lr[: max(end - 1, 0)],
        scheduler=None if ln.sched is None else {"class": ln.sched.name, "kwargs": ln.sched.kwargs(asked)},
    )
