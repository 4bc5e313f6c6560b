"""``python -m lab.serve [streamlit run options]``: the app, with the lab loaded before anyone visits.

``streamlit run lab/Home.py`` imports torch and the lab when the first visitor's page runs, so on a
freshly started server the first learner waits for it (about a second and a half here). This
launcher imports them, builds the optimizer registry and trains one tiny run first, then starts the
same Streamlit server in the same process (through Streamlit's own command-line entry point), so
the first visit finds everything loaded. The hosted set-ups (deploy/) use it; any option of
``streamlit run`` passes through, e.g. ``python -m lab.serve --server.port 8501``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HOME = Path(__file__).resolve().parent / "Home.py"


def warm_up() -> None:
    """Import what every page needs and run the engine once in each precision (its first call
    allocates and fills caches, and loads or compiles the compiled step loop and LBFGS's for that
    dtype: compiling them for both dtypes takes ~20 s the first time (21 s measured here), after
    which the code is read from ``lab/core/__pycache__``, ~4 s)."""
    from lab.app import charts, runs, steps, tables, view  # noqa: F401  (imported for their side effects)
    from lab.core import engine, optimizers, schedulers
    from lab.core.config import OptimizerConfig, RunConfig

    optimizers.registry().names()
    optimizers.unavailable()
    schedulers.registry()  # probed once per install, as the optimizers are (the Dockerfile's build)
    runs.configure_process()
    for dtype in ("float32", "float64"):
        opts = (OptimizerConfig("GD"), OptimizerConfig("Adam"), OptimizerConfig("LBFGS"))
        engine.run(RunConfig(optimizers=opts, steps=10, dtype=dtype))


def main() -> None:
    warm_up()
    from streamlit.web import cli

    from lab.app import runs

    runs.freeze_loaded()  # the loaded modules out of every rerun's collection, before any session exists
    sys.argv = ["streamlit", "run", str(HOME), *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
