"""The compiled loop's interface: its coefficient columns named once, its records cached."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lab.core import rules


def test_each_column_constant_is_the_index_of_its_name():
    """The kernel and the NumPy loop read the rule's table by these constants, never by 0…5."""
    assert len(set(rules.COEFFS)) == len(rules.COEFFS)
    for name in rules.COEFFS:
        assert getattr(rules, name.upper()) == rules.COEFFS.index(name), name


_CACHE_HITS = """
from lab.core import engine, kernel
from lab.core.config import RunConfig
assert engine.COMPILED_ON_CPU, "Numba (requirements.txt) is missing: there is no compiled loop to cache"
engine.run(RunConfig(steps=10))
print(sum(kernel.regression_steps.stats.cache_hits.values()))
"""


@pytest.mark.slow
def test_a_second_process_loads_the_compiled_loop_from_its_cache(tmp_path):
    """Its arguments are records (named tuples of arrays), which Numba's cache keys and reloads:
    the first process compiles and keeps the code, the next one loads it."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def hits() -> int:
        done = subprocess.run(
            [sys.executable, "-c", _CACHE_HITS], env=env, capture_output=True, text=True, check=True, timeout=300
        )
        return int(done.stdout.split()[-1])

    assert hits() == 0
    assert hits() == 1
