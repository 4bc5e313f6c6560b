"""Section 1, autograd: the functions the Autograd page runs and shows (their source is the code
on the page, so what you read is what ran)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lab.core.data import generator


def chain(x_values: list[float]) -> dict:
    """x → y = x + 2 → z = 3·y² → out = mean(z), then out.backward()."""
    x = torch.tensor(x_values, dtype=torch.float32).reshape(2, 2).requires_grad_(True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    out.backward()  # fills x.grad with d(out)/dx
    return {"x": x, "y": y, "z": z, "out": out, "x.grad": x.grad}


def expected_grad(x_values: list[float]) -> list[float]:
    """By hand: out = ¼·Σ 3·(x+2)², so d(out)/dx = ¼ · 6·(x+2) = 1.5·(x+2)."""
    return [1.5 * (v + 2) for v in x_values]


def shown(value, digits: int = 6) -> str:
    """A number, or nested lists of them, as the page prints it: ``digits`` significant digits.

    A float32 holds about 7 significant digits; ``tolist()`` turns it into a Python float, whose
    repr spells out the binary value in full (0.1 becomes 0.10000000149011612), so the digits past
    the 7th are the storage's, not the computation's."""
    if isinstance(value, list):
        return "[" + ", ".join(shown(v, digits) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def describe(t: torch.Tensor) -> dict:
    """What autograd knows about a tensor (its value as the page prints it)."""
    return {
        "value": shown(t.detach().tolist()),
        "requires_grad": t.requires_grad,
        "grad_fn": type(t.grad_fn).__name__ if t.grad_fn is not None else None,
        "is_leaf": t.is_leaf,
    }


def switching(seed: int = 0) -> dict:
    """requires_grad_() switches tracking on in place; no_grad() and detach() give untracked results."""
    a = torch.randn(2, 2, generator=generator(seed, 11))
    a = (a * 3) / (a - 1)
    before = a.requires_grad  # False: made from plain tensors
    a.requires_grad_(True)  # in place: from now on, operations on a are recorded
    b = (a * a).sum()  # b.grad_fn is a SumBackward0
    with torch.no_grad():
        c = (a * a).sum()  # same value, but nothing recorded: no grad_fn
    d = b.detach()  # shares b's value, cut from the graph
    return {"a.requires_grad before": before, "a": a, "b": b, "c": c, "d": d}


def accumulate(x_values: list[float], times: int = 2) -> list[list[float]]:
    """Call backward several times without zeroing: each call adds to x.grad."""
    x = torch.tensor(x_values, dtype=torch.float32).reshape(2, 2).requires_grad_(True)
    grads = []
    for _ in range(times):
        out = (3 * (x + 2) ** 2).mean()  # a fresh graph each time
        out.backward()
        grads.append(x.grad.flatten().tolist())  # not zeroed: 4.5, then 9.0, ...
    return grads


def graph_dot(t: torch.Tensor, names: dict[int, str] | None = None) -> str:
    """The graph that autograd recorded behind ``t``, as Graphviz DOT, from grad_fn.next_functions."""
    names = names or {}
    lines = ['digraph G { rankdir=BT; node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontsize=11];']
    seen: set[int] = set()

    def visit(fn) -> str:
        key = f"n{id(fn)}"
        if id(fn) in seen:
            return key
        seen.add(id(fn))
        label = type(fn).__name__
        var = getattr(fn, "variable", None)
        if var is not None:  # AccumulateGrad: where a leaf's .grad is written
            label = f"{names.get(id(var), 'leaf')} {tuple(var.shape)}\\n(AccumulateGrad)"
            lines.append(f'{key} [label="{label}", fillcolor="#d9f2e0"];')
        else:
            lines.append(f'{key} [label="{label}"];')
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                lines.append(f"{visit(nxt)} -> {key};")
        return key

    root = visit(t.grad_fn)
    lines.append(f'out [label="{names.get(id(t), "output")}", fillcolor="#fde2cf"]; {root} -> out;')
    return "\n".join([*lines, "}"])


def regression_loss_graph(seed: int = 0) -> str:
    """The graph behind the regression's loss: ((x·w + b) − y)² averaged."""
    g = generator(seed, 12)
    x = torch.rand(50, generator=g)
    y = 3 * x + 0.8
    w = torch.rand(1, generator=g, requires_grad=True)
    b = torch.rand(1, generator=g, requires_grad=True)
    loss = ((x * w + b - y) ** 2).mean()
    return graph_dot(loss, {id(w): "w", id(b): "b", id(loss): "loss"})


@dataclass(frozen=True)
class HandFit:
    x: list[float]
    y: list[float]
    loss: list[float]  # loss at each step
    w: list[float]  # after each step
    b: list[float]
    start: tuple[float, float]  # (w, b) before the first step

    @property
    def diverged_at(self) -> int | None:
        """The first step (from 1) whose loss, w or b is not finite; None when all are."""
        for i, values in enumerate(zip(self.loss, self.w, self.b, strict=True)):
            if not all(math.isfinite(v) for v in values):
                return i + 1
        return None

    def metrics(self, true_w: float, true_b: float) -> list[tuple[str, str, str | None]]:
        """(label, value, change) for the page's three numbers: w and b against the true line, and
        the final loss; a run that blew up says at which step instead of printing nan."""
        if (step := self.diverged_at) is not None:
            return [
                ("w", "diverged", f"not finite from step {step}"),
                ("b", "diverged", f"not finite from step {step}"),
                ("final loss", "diverged", "the learning rate is too large: steps overshoot and grow"),
            ]
        w, b = self.w[-1], self.b[-1]
        return [
            ("w", f"{w:.4f}", f"{w - true_w:+.4f} from {true_w:g}"),
            ("b", f"{b:.4f}", f"{b - true_b:+.4f} from {true_b:g}"),
            ("final loss", f"{self.loss[-1]:.3e}", None),
        ]


def fit_by_hand(
    lr: float = 0.01,
    steps: int = 3000,
    zero_grad: bool = True,
    seed: int = 0,
    true_w: float = 3.0,
    true_b: float = 0.8,
    samples: int = 50,
    noise: float = 0.0,
    data: tuple[np.ndarray, np.ndarray] | None = None,
) -> HandFit:
    """The tutorial's regression, trained with nothing but autograd and a hand-written update
    (on ``data``, a learner's own (x, y), when given)."""
    g = generator(seed, 13)
    if data is None:
        x = torch.rand(samples, generator=g)
        y = true_w * x + true_b + noise * torch.randn(samples, generator=g)
    else:
        x, y = (torch.as_tensor(v, dtype=torch.float32) for v in data)
    w = torch.rand(1, generator=g, requires_grad=True)
    b = torch.rand(1, generator=g, requires_grad=True)
    start = (w.item(), b.item())
    losses, ws, bs = [], [], []
    for _ in range(steps):
        y_predict = x * w + b
        loss = (y_predict - y).pow(2).mean()
        if zero_grad:  # forget this and every backward adds to the old gradients
            for p in (w, b):
                if p.grad is not None:
                    p.grad.zero_()
        loss.backward()
        w.data -= lr * w.grad  # .data: change the value without recording the update
        b.data -= lr * b.grad
        losses.append(loss.item())
        ws.append(w.item())
        bs.append(b.item())
    return HandFit(x.tolist(), y.tolist(), losses, ws, bs, start)
