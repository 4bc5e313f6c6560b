"""The Optimizers page's Explain a step tab through Streamlit's AppTest: every tutorial optimizer,
surfaces, a class without a formula, the step in range, and the side-by-side agreement."""

from __future__ import annotations

import pytest
from apptest_helpers import open_page, open_tab
from reference import chaotic_lanes

from lab.core import algorithms, explain, optimizers
from lab.core.config import RunConfig

pytestmark = pytest.mark.usefixtures("fresh_shared_cache")  # no run found in a cache another test filled


def _explain_on(at):
    at.button(key="opt.btn.train").click().run()
    open_tab(at, "Explain a step")
    assert not at.exception
    return at


def test_explain_a_step_renders_for_each_of_the_tutorials_optimizers():
    at = _explain_on(open_page("optimizers"))
    assert at.selectbox(key="opt.explain.opt").value == "Adam" and at.number_input(key="opt.explain.step").value == 25
    for name in optimizers.registry().presets():
        at.selectbox(key="opt.explain.opt").set_value(name).run()
        assert not at.exception, name
        assert at.latex and r"\theta_t" in at.latex[0].value, name
        rows = at.table[-1].value
        assert "gradient" in rows.index and "parameters after (ours)" in rows.index, name
        ours = [m.value for m in at.markdown if m.value.startswith("**Our implementation**")]
        assert ours and "largest |ours − torch| after the step" in ours[0], name
        assert any(c.value.startswith("def ") for c in at.code), name
    at.selectbox(key="opt.explain.opt").set_value("Momentum").run()
    assert "state after: momentum_buffer" in at.table[-1].value.index
    at.selectbox(key="opt.explain.opt").set_value("Adam").run()
    assert {"state after: exp_avg", "state after: exp_avg_sq", "effective step size"} <= set(at.table[-1].value.index)


def test_explain_a_step_on_a_surface_and_for_a_class_without_a_formula():
    at = open_page("optimizers", {"problem": "rosenbrock", "opt": "Adam,LBFGS", "steps": "50"})
    at = _explain_on(at)
    assert at.latex  # Adam first
    at.selectbox(key="opt.explain.opt").set_value("LBFGS").run()
    assert not at.exception and not at.latex
    assert any("No formula is written down" in i.value for i in at.info)
    assert "state after: n_iter" in at.table[-1].value.index


def test_the_explained_step_follows_the_run_and_stays_in_range():
    at = _explain_on(open_page("optimizers", {"steps": "10"}))
    assert at.number_input(key="opt.explain.step").value == 10  # step 25 does not exist: the last one
    at.number_input(key="opt.explain.step").set_value(3).run()
    assert any("left by 2 update(s)" in c.value for c in at.caption)
    shown = at.table[-1].value
    want = explain.explain_step(RunConfig(steps=10), "Adam", 3)
    assert shown.loc["parameters after (torch)", "w"] == f"{want.params_after['w']:.9g}"


@pytest.mark.numeric
def test_side_by_side_lists_every_implementation_and_its_agreement():
    at = _explain_on(open_page("optimizers"))
    at.toggle(key="opt.side").set_value(True).run()
    assert not at.exception

    codes = [c.value for c in at.code if c.value.startswith("def ")]
    assert len(codes) >= len(algorithms.ALGORITHMS)
    agreement = next(d.value for d in at.dataframe if "largest |ours − torch|" in d.value.columns)
    assert list(agreement["optimizer"]) == optimizers.registry().presets()
    assert chaotic_lanes(RunConfig()) == []  # the page's default run: so whole paths compare
    assert (agreement["largest |ours − torch|"] < 1e-5).all()  # float32: a few last-bit roundings
