"""The from-scratch algorithms as a package: every module's algorithm in the registry, weight decay
in one place, and the code a page shows is the code that runs. (Their numbers against torch.optim:
tests/test_explain.py.)"""

import pkgutil

import torch

from lab.core import algorithms
from lab.core.algorithms.common import weight_decay

SHARED = {"common"}


def test_the_registry_holds_every_algorithm_module_once_in_the_package_order():
    modules = [m.name for m in pkgutil.iter_modules(algorithms.__path__) if m.name not in SHARED]
    defined = {getattr(algorithms, name).ALGORITHM.torch_class for name in modules}
    assert defined == set(algorithms.ALGORITHMS)
    assert len(modules) == len(algorithms.ALGORITHMS)
    assert list(algorithms.ALGORITHMS)[:4] == ["SGD", "Adagrad", "RMSprop", "Adam"]  # the page's order
    assert algorithms.get("LBFGS") is None


def test_weight_decay_adds_to_the_gradient_or_shrinks_the_weights():
    p, g = torch.tensor([2.0, -4.0]), torch.tensor([1.0, 1.0])
    hp = {"lr": 0.1, "weight_decay": 0.5}
    coupled_p, coupled_g = weight_decay(p, g, hp)
    assert coupled_p is p and torch.equal(coupled_g, torch.tensor([2.0, -1.0]))
    decoupled_p, decoupled_g = weight_decay(p, g, hp, decoupled=True)
    assert decoupled_g is g and torch.equal(decoupled_p, torch.tensor([1.9, -3.8]))
    same_p, same_g = weight_decay(p, g, {**hp, "weight_decay": 0.0}, decoupled=True)
    assert same_p is p and same_g is g


def test_the_shown_code_is_the_step_and_every_function_of_ours_it_calls_once():
    adamw = algorithms.source(algorithms.get("AdamW"))
    heads = [line for line in adamw.splitlines() if line.startswith("def ")]
    assert [h.split("(")[0] for h in heads] == ["def adamw", "def adam", "def weight_decay", "def moments"]
    radam = algorithms.source(algorithms.get("RAdam"))
    assert "def rectification(" in radam and "def moments(" in radam
    rprop = algorithms.source(algorithms.get("Rprop"))
    assert rprop.count("def ") == 1  # no weight decay in Rprop: nothing else shown
