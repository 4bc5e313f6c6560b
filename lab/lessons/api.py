"""Section 2, the PyTorch API: the functions the PyTorch API page runs and shows."""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch
from torch import nn

from lab.core.data import generator


class Lr(nn.Module):
    """The tutorial's model: one input, one output, y = w·x + b."""

    def __init__(self):
        super().__init__()  # lets nn.Module register the parameters we create below
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x)


def seeded(make: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Build a module without touching torch's global RNG, then draw its parameters from a seeded
    generator (uniform in ±1/√fan_in, like nn.Linear's own initialisation)."""
    with torch.device("meta"):  # shapes only: no memory, no random numbers
        model = make()
    model = model.to_empty(device="cpu")
    g = generator(seed, 21)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                bound = module.in_features**-0.5
                module.weight.uniform_(-bound, bound, generator=g)
                module.bias.uniform_(-bound, bound, generator=g)
            elif isinstance(module, nn.BatchNorm1d):
                module.reset_parameters()  # weight 1, bias 0, running mean 0, variance 1
    return model


def anatomy(seed: int = 0) -> dict:
    """An Lr model's parameters, and proof that calling it runs forward."""
    model = seeded(Lr, seed)
    x = torch.tensor([[0.0], [0.5], [1.0]])
    w, b = model.linear.weight, model.linear.bias
    return {
        "named_parameters": [
            (name, tuple(p.shape), p.detach().flatten().tolist(), p.requires_grad)
            for name, p in model.named_parameters()
        ],
        "model(x)": model(x).detach().flatten().tolist(),  # nn.Module.__call__ runs forward (and hooks)
        "model.forward(x)": model.forward(x).detach().flatten().tolist(),
        "x @ w.T + b": (x @ w.T + b).detach().flatten().tolist(),
        "repr": repr(model),
    }


def readable(value, digits: int = 6):
    """``value`` (a number, or lists and dicts of them) with each float cut to ``digits`` significant
    digits: a float32 state read through ``tolist()`` spells out its binary value in full
    (2.0074245929718018), digits the computation never had."""
    if isinstance(value, dict):
        return {k: readable(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [readable(v, digits) for v in value]
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    return value


def lifecycle(optimizer: str, lr: float, presses: int, seed: int = 0) -> list[dict]:
    """Train Lr for ``presses`` steps of zero_grad → forward → backward → step and record what
    the gradient, the parameters and the optimizer's state are after each phase of the last step."""
    g = generator(seed, 22)
    x = torch.rand(50, 1, generator=g)
    y = 3 * x + 0.8
    model = seeded(Lr, seed)
    opt = {
        "SGD": lambda p: torch.optim.SGD(p, lr=lr),
        "SGD + momentum": lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9),
        "Adam": lambda p: torch.optim.Adam(p, lr=lr),
    }[optimizer](model.parameters())
    criterion = nn.MSELoss()
    phases: list[dict] = []

    def snap(phase: str, loss: float | None = None) -> dict:
        w, b = model.linear.weight, model.linear.bias
        state = {
            k: (v.flatten().tolist() if torch.is_tensor(v) else v)
            for p, name in ((w, "w"), (b, "b"))
            for k, v in ((f"{name}.{key}", val) for key, val in opt.state.get(p, {}).items())
        }
        return {
            "phase": phase,
            "w": w.item(),
            "b": b.item(),
            "w.grad": None if w.grad is None else w.grad.item(),
            "b.grad": None if b.grad is None else b.grad.item(),
            "loss": loss,
            "state": state,
        }

    phases.append(snap("start of the step"))
    for _ in range(presses):
        phases = [snap("start of the step")]
        opt.zero_grad()  # 1. forget the last step's gradients (set to None)
        phases.append(snap("after zero_grad()"))
        loss = criterion(model(x), y)  # 2. forward: prediction first, target second
        loss.backward()  # 3. gradients of the loss w.r.t. every parameter
        phases.append(snap("after loss.backward()", loss.item()))
        opt.step()  # 4. the optimizer updates the parameters (and its own state)
        with torch.no_grad():  # the loss at the new parameters: what the step bought
            phases.append(snap("after optimizer.step()", criterion(model(x), y).item()))
    return phases


def mse(pred: list[float], target: list[float]) -> dict:
    """nn.MSELoss()(input, target): the mean of squared differences."""
    p, t = torch.tensor(pred), torch.tensor(target)
    loss = nn.MSELoss()(p, t)
    return {
        "loss": loss.item(),
        "by hand": ((p - t) ** 2).mean().item(),
        "swapped": nn.MSELoss()(t, p).item(),
    }  # symmetric: the tutorial's swap goes unnoticed here


def cross_entropy(logits: list[float], target: int) -> dict:
    """nn.CrossEntropyLoss()(input=logits, target=class index): −log softmax(logits)[target]."""
    z = torch.tensor([logits])  # a batch of one sample, one logit per class
    t = torch.tensor([target])
    loss = nn.CrossEntropyLoss()(z, t)  # (input, target): never the other way round
    probs = torch.softmax(z, dim=1)[0]
    return {"probabilities": probs.tolist(), "loss": loss.item(), "by hand": -torch.log(probs[target]).item()}


def small_net() -> nn.Module:
    """A network whose train and eval modes differ: BatchNorm and Dropout."""
    return nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(p=0.5), nn.Linear(8, 1))


_GLOBAL_RNG = threading.Lock()  # dropout draws from torch's global RNG: fork it, one user at a time


def train_vs_eval(seed: int = 0) -> dict:
    """The same input through the same network, in train() and in eval() mode."""
    net = seeded(small_net, seed)
    x = torch.randn(4, 3, generator=generator(seed, 23))
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # a repeatable dropout mask, and the global RNG is restored after
        net.train()  # dropout zeroes half the units; batch norm uses this batch's statistics
        out_train = net(x).detach().flatten().tolist()
    net.eval()  # dropout off; batch norm uses its running statistics
    with torch.no_grad():
        out_eval = net(x).flatten().tolist()
    return {"train": out_train, "eval": out_eval, "x": x.tolist()}


def tutorial_training(
    steps: int = 30_000, lr: float = 1e-3, seed: int = 0, progress: Callable[[float], None] | None = None
) -> dict:
    """The tutorial's section-2 run: Lr, MSELoss and SGD(lr=1e-3), full batch, many steps."""
    g = generator(seed, 24)
    x = torch.rand(50, 1, generator=g)
    y = x * 3 + 0.8
    model = seeded(Lr, seed)
    criterion = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for i in range(steps):
        out = model(x)
        loss = criterion(out, y)  # (input, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if progress is not None and (i + 1) % 1000 == 0:
            progress((i + 1) / steps)
    model.eval()  # prediction mode (no difference for a plain linear model)
    with torch.no_grad():
        predict = model(x)
    return {
        "w": model.linear.weight.item(),
        "b": model.linear.bias.item(),
        "losses": losses,
        "x": x.flatten().tolist(),
        "y": y.flatten().tolist(),
        "predict": predict.flatten().tolist(),
    }


def took(steps: int, seconds: float) -> str:
    """How long a training run took here, in words: the page measures it rather than promise a time,
    because a step costs microseconds of arithmetic and tens of microseconds of Python and dispatch,
    which differ many times over between machines and with their load."""
    return f"{steps:,} step{'s' * (steps != 1)} took {seconds:.3g} s here: {1e3 * seconds / steps:.3g} ms a step."
