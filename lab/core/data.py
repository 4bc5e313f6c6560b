"""Data, initial parameters and batch order, each drawn from its own seeded ``torch.Generator``.

Nothing here touches torch's global RNG: Streamlit runs every user's session as a thread of one
process, so global random state would be shared between users.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lab.core import datasets
from lab.core.config import DataConfig


def generator(seed: int, *salt: int) -> torch.Generator:
    """A CPU generator seeded from ``seed`` and a few small integers (stream identifiers)."""
    mixed = seed
    for s in salt:
        mixed = (mixed * 1_000_003 + s + 1) % (2**62)
    return torch.Generator().manual_seed(mixed)


def make_data(cfg: DataConfig, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x uniform in [0, 1), y = true_w * x + true_b + noise; float64 on the CPU. A learner's own
    data set (``cfg.dataset``) as it was uploaded; ValueError if this process does not have it."""
    if cfg.dataset is not None:
        ds = datasets.get(cfg.dataset, cfg.dataset_name)
        if ds.rows != cfg.samples:
            raise ValueError(f"data.samples = {cfg.samples} but the data set {ds.name} has {ds.rows} rows")
        return torch.from_numpy(ds.x.copy()), torch.from_numpy(ds.y.copy())
    g = generator(seed, 0)
    x = torch.rand(cfg.samples, generator=g, dtype=torch.float64)
    noise = torch.randn(cfg.samples, generator=g, dtype=torch.float64) * cfg.noise
    return x, cfg.true_w * x + cfg.true_b + noise


def initial_params(seed: int, repeats: int) -> torch.Tensor:
    """(repeats, 2) starting (w0, b0) pairs, uniform in [-1, 1) like nn.Linear(1, 1)'s init."""
    g = generator(seed, 1)
    return torch.rand(repeats, 2, generator=g, dtype=torch.float64) * 2 - 1


def dataset_config(ds: datasets.Dataset) -> DataConfig:
    """The data config of a learner's own data set. Reading it writes nothing: whoever trains on it
    keeps it in this process first (:func:`lab.core.datasets.register`)."""
    w, b = ds.fit
    return DataConfig(samples=ds.rows, true_w=w, true_b=b, noise=0.0, dataset=ds.digest, dataset_name=ds.name)


def kept_config(ds: datasets.Dataset) -> DataConfig:
    """Keep ``ds`` in this process and return its data config: what a caller about to train on it does."""
    datasets.register(ds)
    return dataset_config(ds)


@dataclass
class BatchStream:
    """The sample indices of each step for one batch size, epoch after epoch.

    Every epoch is a fresh random permutation of the samples cut into consecutive batches of
    ``batch_size`` (the last one shorter when it does not divide ``samples``), like a shuffling
    ``DataLoader``. Full-batch streams use every sample in order. The permutation sequence
    depends only on (seed, repeat), so all optimizers of a repeat visit samples in one order.
    """

    samples: int
    batch_size: int
    seed: int
    repeat: int

    def __post_init__(self) -> None:
        self._gen = generator(self.seed, 2, self.repeat)
        self.full = self.batch_size >= self.samples
        self.width = min(self.batch_size, self.samples)
        self._idx = torch.empty(0, self.width, dtype=torch.long)
        self._sizes = torch.empty(0, dtype=torch.float64)
        count = -(-self.samples // self.width)
        self._epoch_sizes = torch.full((count,), float(self.width), dtype=torch.float64)
        self._epoch_sizes[-1] = self.samples - (count - 1) * self.width

    def _epoch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One epoch as a padded (batches, width) index matrix and the batch sizes (the same every
        epoch: kept in ``self._epoch_sizes``)."""
        n, width = self.samples, self.width
        if self.full:
            return torch.arange(n).unsqueeze(0), torch.tensor([float(n)], dtype=torch.float64)
        count = -(-n // width)
        perm = torch.randperm(n, generator=self._gen)
        if count * width != n:  # the last batch is shorter: pad it with the index past the data
            perm = torch.cat([perm, torch.full((count * width - n,), n, dtype=torch.long)])
        return perm.view(count, width), self._epoch_sizes

    def take_padded(self, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The next ``steps`` batches as a (steps, width) index matrix padded with ``samples``
        (an index past the data, pointing at a zero row) and the true batch sizes."""
        if self.full:
            idx, sizes = self._epoch()
            return idx.expand(steps, -1), sizes.expand(steps)
        parts_i, parts_s, have = [self._idx], [self._sizes], len(self._idx)
        while have < steps:
            i, s = self._epoch()
            parts_i.append(i)
            parts_s.append(s)
            have += len(i)
        idx, sizes = torch.cat(parts_i), torch.cat(parts_s)
        self._idx, self._sizes = idx[steps:], sizes[steps:]
        return idx[:steps], sizes[:steps]

    def take(self, steps: int) -> list[torch.Tensor]:
        """The index tensors of the next ``steps`` steps (for plain reference loops)."""
        idx, sizes = self.take_padded(steps)
        return [row[: int(n)] for row, n in zip(idx, sizes, strict=True)]
