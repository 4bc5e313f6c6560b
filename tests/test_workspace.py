"""The Optimizers page as one workspace: the controls beside the results, the learning rates in one
table, a reset, and the results' depth in lazy tabs."""

from __future__ import annotations

import pytest
from apptest_helpers import open_page, open_tab, result_tabs

from lab.app import form, steps
from lab.core.config import RunConfig

pytestmark = pytest.mark.usefixtures("fresh_shared_cache")


def test_every_learning_rate_is_in_view_in_one_table():
    at = open_page("optimizers")
    editor = at.data_editor[0].value
    assert list(editor["optimizer"]) == [o.name for o in RunConfig().optimizers]
    assert list(editor[form.LR_COLUMN]) == [o.kwargs["lr"] for o in RunConfig().optimizers]
    assert not [e for e in at.expander if e.proto.expanded and e.label in editor["optimizer"].tolist()]


def test_a_link_says_what_it_set_and_reset_brings_back_the_defaults():
    at = open_page("optimizers", {"exp": "saddle"})
    assert any(c.value.startswith("Set by the link: optimizers GD, Momentum, RMSProp, Adam") for c in at.caption)
    at.button(key="opt.btn.reset").click().run()
    assert not at.exception
    assert at.session_state["opt.problem"] == "regression" and not at.session_state["opt.same_lr_on"]
    assert at.multiselect(key="opt.selected").value == [o.name for o in RunConfig().optimizers]
    assert not any(c.value.startswith("Set by the link") for c in at.caption)
    assert form.read(at.session_state)[0].config == RunConfig()


def test_a_closed_tab_computes_nothing(monkeypatch):
    replays = []
    real = steps.step
    monkeypatch.setattr(steps, "step", lambda *a, **kw: replays.append(a) or real(*a, **kw))
    at = open_page("optimizers", {"run": "1"})
    assert result_tabs(at)[0] == "Table" and len(at.table) == 1  # the open tab
    assert not replays and len(at.get("vega_lite_chart")) == 1  # no fit, no paths, no explained step
    open_tab(at, "Explain a step")
    assert not at.exception and len(replays) == 1 and len(at.table) >= 1
