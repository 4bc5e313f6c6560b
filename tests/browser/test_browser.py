"""The app in Debian's Chromium, as a person uses it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from app import (
    chart_drawn,
    click_and_wait,
    exceptions,
    open_page,
    open_tab,
    press_then_stop,
    results_table,
    wait_idle,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

PAGES = ["", "autograd", "pytorch-api", "optimizers", "gpu", "class"]


def _metric(page, label: str) -> str:
    box = page.locator("[data-testid=stMetric]").filter(has=page.get_by_text(label, exact=True)).first
    return box.locator("[data-testid=stMetricValue]").inner_text().strip()


def _autograd_page_works(page) -> None:
    """x.grad from backward() beside the formula worked out by hand, the graph drawn; forgetting to
    zero the gradients gives torch's own final loss."""
    from lab.lessons import autograd as ag

    grad = page.locator("[data-testid=stMetricValue]").filter(has_text="4.5, 4.5, 4.5, 4.5")
    grad.nth(1).wait_for()  # components load lazily: wait for both, then count
    expect(grad).to_have_count(2)
    page.locator("[data-testid=stGraphVizChart] svg").nth(1).wait_for()
    page.get_by_text("forget to zero the gradients").click()
    wait_idle(page)
    expect(page.get_by_text("exactly SGD with momentum 1")).to_have_count(1)
    forgot = ag.fit_by_hand(zero_grad=False)
    assert _metric(page, "final loss") == f"{forgot.loss[-1]:.3e}"


def _pytorch_api_page_works(page) -> None:
    """A step of the optimizer, the cross-entropy of the class chosen, the tutorial's 30 000 steps
    (with a progress bar): each against torch's numbers."""
    from lab.lessons import api

    page.get_by_role("button", name="Step", exact=True).click()
    wait_idle(page)
    page.get_by_text("Steps taken: 1.").wait_for()
    page.get_by_role("radiogroup").get_by_text("2", exact=True).click()  # the true class
    wait_idle(page)
    expected = api.cross_entropy([2.0, 0.5, -1.0], 2)["loss"]
    assert float(_metric(page, "nn.CrossEntropyLoss()(logits, target)")) == pytest.approx(expected, rel=1e-5)
    click_and_wait(page, "Run")
    run = api.tutorial_training()
    expect(page.get_by_text("With the tutorial's lr = 1e-3 plain gradient descent is slow")).to_have_count(1)
    assert (_metric(page, "w"), _metric(page, "b")) == (f"{run['w']:.4f}", f"{run['b']:.4f}")


def _gpu_page_works(page) -> None:
    page.get_by_text("torch.cuda.is_available()").first.wait_for()
    page.locator("[data-testid=stVegaLiteChart] :is(canvas, svg.marks)").first.wait_for()


WORKS = {"autograd": _autograd_page_works, "pytorch-api": _pytorch_api_page_works, "gpu": _gpu_page_works}


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "home")
def test_page_loads_without_exception_and_its_controls_work(page, app_server, path):
    """Every page on first load, with defaults; on a section page, then its key values and one
    press of each kind of control, on the same page (a page load is most of a browser test's cost)."""
    open_page(page, app_server, path)
    assert exceptions(page) == []
    expect(page.locator("[data-testid=stSidebar]").get_by_text("Device", exact=True)).to_have_count(1)
    if path in WORKS:
        WORKS[path](page)
        assert exceptions(page) == []


def _train_defaults(page, app_server):
    open_page(page, app_server, "optimizers")
    click_and_wait(page, "Train all")
    page.wait_for_selector("[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg.marks")
    return results_table(page)


def test_train_all_draws_chart_fit_and_table_and_the_csvs_match_it(page, app_server, tmp_path):
    """A bad value typed into a field is marked and Train all keeps the last valid one (nothing is
    lost); the chart, the fit, the table and both CSVs of that run agree; clearing every optimizer
    says what is missing."""
    open_page(page, app_server, "optimizers")
    steps = page.get_by_label("Steps", exact=True)
    steps.fill("999999999")
    steps.press("Enter")
    wait_idle(page)
    assert exceptions(page) == []
    assert steps.get_attribute("aria-invalid") == "true"  # red field with the reason on hover
    assert "outside" in page.locator(f"[id='{steps.get_attribute('aria-describedby')}']").inner_text()
    click_and_wait(page, "Train all")  # the last valid value is used
    expect(page.get_by_text("7 optimizers × 1,000 steps")).to_have_count(1)
    page.wait_for_selector("[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg.marks")
    rows = results_table(page)
    assert exceptions(page) == []
    assert [r["optimizer"] for r in rows] and len(rows) == 7
    assert {r["optimizer"] for r in rows} == {"GD", "SGD", "Mini-batch SGD", "Momentum", "AdaGrad", "RMSProp", "Adam"}
    assert all(r["status"] == "converged" for r in rows)
    expect(page.locator("[data-testid=stVegaLiteChart]")).to_have_count(1)  # the loss curves, the table's tab open
    assert chart_drawn(page, 0)
    open_tab(page, "Fit")
    expect(page.locator("[data-testid=stVegaLiteChart]")).to_have_count(2)  # and the fit, drawn when opened
    assert chart_drawn(page, 1) and exceptions(page) == []

    # The downloads, through the browser, say what the table shows.
    shown = {r["optimizer"]: r for r in rows}
    open_tab(page, "Downloads & history")
    with page.expect_download() as info:
        page.get_by_role("button", name="Summary CSV", exact=True).click()
    path = tmp_path / "summary.csv"
    info.value.save_as(path)
    summary = pd.read_csv(path)
    assert len(summary) == 7 and "run_id" in summary.columns and "hyperparams" in summary.columns
    for _, row in summary.iterrows():
        lane = shown[row["optimizer"]]
        assert f"{row['w']:.6f}" == lane["w"] and f"{row['b']:.6f}" == lane["b"]
        assert f"{row['final_loss']:.3e}" == lane["final loss"]
    with page.expect_download() as info:
        page.get_by_role("button", name="Curves CSV", exact=True).click()
    curves = pd.read_csv(info.value.path())
    assert len(curves) == 7 * 1001

    page.locator("[data-testid=stMultiSelect] [aria-label='Clear all']").first.click()
    wait_idle(page)
    expect(page.get_by_text("optimizers must name at least one optimizer")).to_have_count(1)
    assert exceptions(page) == []


def test_shared_link_reproduces_the_table_in_a_new_context(new_context, page, app_server):
    open_page(page, app_server, "optimizers")
    steps = page.get_by_label("Steps", exact=True)
    steps.fill("700")
    steps.press("Enter")
    wait_idle(page)
    click_and_wait(page, "Train all")
    first = results_table(page)
    link = page.get_by_label("Share this comparison (opens and trains the same run):").input_value()
    assert "steps=700" in link and link.startswith(app_server)
    other = new_context().new_page()
    other.goto(link)
    wait_idle(other)
    other.wait_for_selector("[data-testid=stTable]")
    again = results_table(other)
    strip = [{k: v for k, v in r.items() if k != "time (ms)"} for r in first]
    assert [{k: v for k, v in r.items() if k != "time (ms)"} for r in again] == strip


def test_bad_url_gives_a_notice_not_an_exception(page, app_server):
    open_page(page, app_server, "optimizers?steps=lots&opt=Adam,Nope&run=1")
    page.get_by_text("Ignored steps='lots'").wait_for()
    assert exceptions(page) == []
    expect(page.get_by_text("Ignored steps='lots'")).to_have_count(1)
    expect(page.get_by_text("Ignored optimizer 'Nope'")).to_have_count(1)
    assert [r["optimizer"] for r in results_table(page)] == ["Adam"]


def _choose(page, selectbox, option: str) -> None:
    """Pick ``option`` in a select box by typing it and pressing Enter on the match the filter puts
    first. (Its options are virtualised: one below the fold is not in the page; and clicking the
    option itself raced a busy page re-rendering the list; clicking the widget's middle could land on
    its help icon.)"""
    selectbox.get_by_role("combobox").click()
    page.keyboard.type(option)
    expect(page.get_by_role("option", name=option, exact=True)).to_be_visible()
    page.keyboard.press("Enter")
    wait_idle(page)
    expect(selectbox.get_by_role("combobox")).to_have_value(option)


def test_stop_interrupts_a_long_training_and_keeps_earlier_runs(page, app_server):
    open_page(page, app_server, "optimizers?problem=rosenbrock&run=1")  # run #1
    page.get_by_text("Results — run #1").wait_for()
    page.get_by_text("Live: retrain on every edit", exact=True).click()  # edits wait for Train all
    wait_idle(page)
    combo = page.locator("[data-testid=stMultiSelect] [role=combobox]").first
    combo.click()
    combo.fill("LBFGS")
    combo.press("Enter")
    page.keyboard.press("Escape")
    wait_idle(page)
    steps = page.get_by_label("Steps", exact=True)
    steps.fill("50000")  # LBFGS on a surface steps through torch.optim: about a minute
    steps.press("Enter")
    wait_idle(page)
    press_then_stop(page, "Train all")
    assert exceptions(page) == []
    expect(page.locator("[data-testid=stProgress]")).to_have_count(0)
    expect(page.get_by_text("Results — run #1")).to_have_count(1)
    open_tab(page, "Downloads & history")
    expect(page.get_by_text("Run history (1 kept)")).to_have_count(1)


def test_tune_learning_rates_shows_the_sweep_and_sets_each_best(page, app_server):
    from lab.core import tuning
    from lab.core.config import RunConfig

    open_page(page, app_server, "optimizers")
    click_and_wait(page, "Tune learning rates")
    best = tuning.sweep(RunConfig()).best
    expect(page.get_by_text("Results — run #1")).to_have_count(1)  # Live: the best rates retrained at once
    open_tab(page, "Sweep")
    expect(page.get_by_text(f"Adam {best['Adam']:g}")).to_have_count(1)  # "… **Adam** 0.3. Press …"
    assert chart_drawn(page, 1)  # the loss chart, then the sweep chart in its tab
    table = page.locator(".st-key-opt-controls [data-testid=stDataFrame]").first
    expect(table).to_be_visible()  # every rate in view, in one table
    box = page.locator("[data-testid=stExpander]").filter(has_text="Every hyperparameter")
    box.locator("summary").click()  # every hyperparameter, a tab per optimizer
    box.get_by_role("tab", name="Adam", exact=True).click()
    adam = box.get_by_role("tabpanel").filter(has_text="Momentum plus RMSProp-style scaling")
    expect(adam.get_by_label("lr", exact=True)).to_have_value(f"{best['Adam']:g}")
    assert exceptions(page) == []


def test_a_surface_from_a_link_draws_loss_and_paths(page, app_server):
    from lab.core import engine
    from lab.core.config import OptimizerConfig, RunConfig

    open_page(page, app_server, "optimizers?problem=rosenbrock&opt=Momentum,Adam&Momentum.lr=0.001&run=1")
    assert chart_drawn(page, 0) and chart_drawn(page, 1)  # loss curves, and the paths (a surface's first tab)
    expect(page.get_by_text("Paths over the surface")).to_have_count(1)
    slider = page.locator("[class*=st-key-opt-paths_chart] [data-testid=stVegaLiteChart] input[type=range]")
    expect(slider).to_have_count(1)  # the paths' replay: drawn by the browser, no rerun
    slider.fill("50")
    marker = page.locator(".st-key-opt-loss_chart input[type=range]")
    expect(marker).to_have_value("50")  # the loss chart marks the same step
    open_tab(page, "Table")
    rows = {r["optimizer"]: r for r in results_table(page)}
    cfg = RunConfig(
        objective="rosenbrock", optimizers=(OptimizerConfig.of("Momentum", lr=0.001), OptimizerConfig("Adam"))
    )
    for lane in engine.run(cfg).lanes:
        assert rows[lane.optimizer]["w"] == f"{lane.final_w:.6f}", lane.optimizer
    assert exceptions(page) == []


def test_a_guided_experiment_from_home_trains_and_says_what_to_look_for(page, app_server):
    from lab.app import experiments, tables
    from lab.core import engine

    open_page(page, app_server, "")
    page.get_by_text("Noisy data: why SGD never settles").click()
    page.wait_for_url("**/optimizers?**")
    wait_idle(page)
    rows = {r["optimizer"]: r for r in results_table(page)}
    for lane in engine.run(experiments.get("noise").state().config).lanes:
        assert rows[lane.optimizer]["status"] == tables.status_word(lane)
    expect(page.get_by_text("Noisy data: why SGD never settles — what to look for.")).to_have_count(1)
    assert exceptions(page) == []


def test_users_training_at_once_each_get_their_own_run(new_context, app_server):
    """A class on one server: four users press Train all together, each with their own seed."""
    from lab.core import engine
    from lab.core.config import RunConfig

    pages = [new_context().new_page() for _ in range(4)]
    for seed, pg in enumerate(pages, start=101):
        open_page(pg, app_server, f"optimizers?seed={seed}&steps=2000")
    for pg in pages:  # as close to simultaneous as one driver gets
        pg.get_by_role("button", name="Train all", exact=True).click(no_wait_after=True)
    for seed, pg in enumerate(pages, start=101):
        # Four trainings share two slots on two cores: the last may wait a while, and the page
        # may not have started running yet when it is first looked at.
        pg.locator("[data-testid=stTable] table tbody tr").first.wait_for(timeout=120_000)
        wait_idle(pg)
        shown = {r["optimizer"]: r for r in results_table(pg)}
        assert exceptions(pg) == []
        for lane in engine.run(RunConfig(seed=seed, steps=2000)).lanes:
            assert shown[lane.optimizer]["w"] == f"{lane.final_w:.6f}", (seed, lane.optimizer)
            assert shown[lane.optimizer]["b"] == f"{lane.final_b:.6f}", (seed, lane.optimizer)


@pytest.mark.parametrize("size", [(1024, 576), (1280, 720)])
def test_on_a_projector_the_charts_get_the_width_and_the_results_are_in_view(page, app_server, size):
    """A class projector: 1280 x 720 (or 125 % zoom of it, 1024 x 576), the sidebar open. After a
    guided experiment's link, the results are on the first screen and each chart spans the page."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_page(page, app_server, "optimizers?exp=noise")
    assert exceptions(page) == []
    assert chart_drawn(page, 0)
    heading = page.get_by_text("Results — run #1").first.bounding_box()
    assert heading is not None and heading["y"] < size[1]  # on the first screen
    main = page.locator("[data-testid=stMainBlockContainer] > [data-testid=stVerticalBlock]").first.bounding_box()
    # the loss chart: the results stack above the controls, full width, below 1 100 px; else beside them
    box = page.locator("[data-testid=stVegaLiteChart]").first.bounding_box()
    least = 0.8 * main["width"] if size[0] < 1100 else 300
    assert box["width"] > least, (box, main)
    tune = page.get_by_role("button", name="Tune learning rates", exact=True).bounding_box()
    assert page.get_by_role("button", name="Tune learning rates", exact=True).evaluate(
        "b => b.scrollWidth <= b.clientWidth + 1"
    ), tune  # its label is not cut
    # The optimizer picker shows every chosen optimizer (its tags wrap instead of scrolling away).
    open_page(page, app_server, "optimizers")
    picker = page.locator("[data-testid=stMultiSelect]").first
    box = picker.locator("[data-testid=stMultiSelectTagsContainer]").bounding_box()
    tags = picker.locator("[data-testid=stMultiSelectTagsContainer] span[title]").all()
    assert len(tags) == 7
    for tag in tags:
        t = tag.bounding_box()
        assert (
            t["x"] + t["width"] <= box["x"] + box["width"] + 1 and t["y"] + t["height"] <= box["y"] + box["height"] + 1
        )


def test_play_replays_the_race_on_a_log_spaced_step_slider(page, app_server):
    open_page(page, app_server, "optimizers?exp=valley")
    assert exceptions(page) == [] and chart_drawn(page, 1)
    slider = page.locator("[class*=st-key-opt-paths_chart] input[type=range]").first
    assert slider.get_attribute("max") == slider.input_value()  # the whole race at first
    frame = page.frame_locator("[class*=st-key-opt-paths_chart] iframe").first
    frame.get_by_role("button", name="Play").click()
    page.wait_for_timeout(1_500)
    moving = int(slider.input_value())
    assert 0 < moving < int(slider.get_attribute("max"))  # restarted from step 0 and on its way
    frame.get_by_role("button", name="Pause").click()
    page.wait_for_timeout(300)
    paused = slider.input_value()
    page.wait_for_timeout(600)
    assert slider.input_value() == paused
    # The loss chart marks the same step: its step marker's slider follows the paths' slider.
    marker = page.locator(".st-key-opt-loss_chart input[type=range]").first
    assert marker.input_value() == paused


def _explain_table(page) -> dict[str, list[str]]:
    """The explained step's table: quantity -> [w, b] as displayed."""
    table = page.locator(".st-key-opt-explain_view [data-testid=stTable] table").first
    table.locator("tbody tr").first.wait_for()
    return {
        tr.locator("th").first.inner_text().strip(): [c.strip() for c in tr.locator("td").all_inner_texts()]
        for tr in table.locator("tbody tr").all()
    }


def test_explain_step_25_shows_the_formula_torchs_state_and_our_step(page, app_server):
    """After Train all with defaults, for Adam (chosen first), then Momentum and RMSProp chosen in
    turn on the same page: step 25's formula (KaTeX drawn), torch's state, the effective step sizes
    and our implementation's difference (0)."""
    _train_defaults(page, app_server)
    open_tab(page, "Explain a step")
    view = page.locator(".st-key-opt-explain_view")
    state = {
        "Adam": "state after: exp_avg_sq",
        "Momentum": "state after: momentum_buffer",
        "RMSProp": "state after: square_avg",
    }
    for name, kept in state.items():
        if name != "Adam":  # Adam is chosen first
            _choose(page, view.locator("[data-testid=stSelectbox]").first, name)
        expect(view.locator("[data-testid=stTable] th").filter(has_text=kept)).to_have_count(1)  # its table
        expect(view.locator(".katex").first).to_be_visible()
        expect(view.locator("[data-testid=stNumberInput] input").first).to_have_value("25")
        rows = _explain_table(page)
        assert kept in rows and "effective step size" in rows, name
        ours, torchs = (list(map(float, rows[f"parameters after ({who})"])) for who in ("ours", "torch"))
        assert ours == pytest.approx(torchs, abs=1e-6), name  # float32: at most a last-bit rounding apart
        expect(view.get_by_text("largest |ours − torch| after the step", exact=False)).to_be_visible()
        expect(view.locator("code").filter(has_text="def ").first).to_be_visible()
        assert chart_drawn(page, 1), name  # the step-size chart, after the loss chart
        assert exceptions(page) == [], name
        view.screenshot(path=str(ARTIFACTS / f"explain-{name}-step25.png"))


def test_a_learner_uploads_their_own_csv_and_trains_on_it(page, app_server, tmp_path):
    open_page(page, app_server, "optimizers")
    src = tmp_path / "heights.csv"
    src.write_text("name,height,weight\nann,1.50,60\nbob,1.62,64\ncy,1.71,69\ndee,1.80,75\n")
    sidebar = page.locator("[data-testid=stSidebar]")
    sidebar.get_by_text("Data: generated, or your own CSV").click()
    sidebar.locator("input[type=file]").set_input_files(str(src))
    wait_idle(page)
    expect(sidebar.get_by_text("has no x and y columns", exact=False)).to_be_visible()
    sidebar.get_by_role("button", name="Use these columns").click()
    wait_idle(page)
    expect(sidebar.get_by_text("your data: heights.csv (4 rows, height → weight)", exact=False)).to_be_visible()
    expect(page.get_by_role("spinbutton", name="Mini-batch size")).to_have_value("4")  # at most the rows
    click_and_wait(page, "Train all")
    rows = results_table(page)
    assert exceptions(page) == [] and len(rows) == 7 and "|w − best-fit w|" in rows[0]
    page.screenshot(path=str(ARTIFACTS / "own-data-trained.png"), full_page=False)


def _move_paths_slider(page, value: str, *followers: str) -> None:
    """Move the paths chart's slider; each follower chart's step marker must follow it."""
    page.locator("[class*=st-key-opt-paths_chart] input[type=range]").first.fill(value)
    for name in followers:
        expect(page.locator(f".st-key-opt-{name} input[type=range]")).to_have_value(value)


def test_a_cosine_schedule_over_the_default_comparison_draws_the_rates(page, app_server):
    """Pick CosineAnnealingLR in the form (typed: the options are virtualised), train the default
    comparison: the table is the engine's, the rate chart is drawn in the Schedule tab, and the loss
    chart's step marker follows the paths chart's slider."""
    from lab.core import engine
    from lab.core.config import RunConfig

    open_page(page, app_server, "optimizers")
    box = page.locator(".st-key-opt-controls [data-testid=stSelectbox]").filter(has_text="Learning-rate schedule")
    _choose(page, box, "CosineAnnealingLR")
    expect(page.get_by_placeholder("auto: 1000")).to_have_count(1)  # T_max follows the run's steps
    click_and_wait(page, "Train all")
    rows = {r["optimizer"]: r for r in results_table(page)}
    for lane in engine.run(RunConfig(scheduler="CosineAnnealingLR")).lanes:
        assert rows[lane.optimizer]["w"] == f"{lane.final_w:.6f}", lane.optimizer
    assert "sched=CosineAnnealingLR" in page.locator(".st-key-opt-share_link input").input_value()
    open_tab(page, "Schedule")  # the rates in their own tab
    expect(page.get_by_text("Learning rate each optimizer used", exact=False)).to_have_count(1)
    chart = page.locator(".st-key-opt-lr_chart [data-testid=stVegaLiteChart]")
    expect(chart).to_have_count(1)
    assert chart_drawn(page, 1)  # the loss chart, then the rate chart
    page.locator(".st-key-opt-lr_chart").screenshot(path=str(ARTIFACTS / "schedule-cosine.png"))
    open_tab(page, "Paths")
    _move_paths_slider(page, "120", "loss_chart")
    assert exceptions(page) == []


def test_gradient_noise_arrows_follow_the_slider_and_the_variance_chart_too(page, app_server):
    open_page(page, app_server, "optimizers?opt=SGD,Mini-batch%20SGD,GD&noise=0.3&run=1")
    open_tab(page, "Paths")
    page.get_by_text("Gradient noise: the step each batch would take", exact=False).click()
    wait_idle(page)
    expect(page.get_by_text("against batch size, at the slider's point", exact=False)).to_have_count(1)
    paths = page.locator("[class*=st-key-opt-paths_chart] [data-testid=stVegaLiteChart]").first
    paths.locator("canvas, svg.marks").first.wait_for()
    page.wait_for_timeout(500)  # the button's frame registers the slider mirror
    _move_paths_slider(page, "200", "noise_chart", "loss_chart")
    assert exceptions(page) == []
    page.locator("[data-testid=stMain]").screenshot(path=str(ARTIFACTS / "gradient-noise.png"))


def test_eight_repeats_of_sgd_and_mini_batch_sgd_draw_bands_and_spread(page, app_server):
    from lab.app import tables
    from lab.core import engine
    from lab.core.config import DataConfig, OptimizerConfig, RunConfig

    open_page(page, app_server, "optimizers?opt=SGD,Mini-batch%20SGD&repeats=8&noise=0.3&run=1")
    rows = {r["optimizer"]: r for r in results_table(page)}
    cfg = RunConfig(
        optimizers=(OptimizerConfig("SGD"), OptimizerConfig("Mini-batch SGD")), repeats=8, data=DataConfig(noise=0.3)
    )
    want = tables.results_table(engine.run(cfg)).set_index("optimizer")
    for name in ("SGD", "Mini-batch SGD"):
        assert rows[name]["status"] == want.loc[name, "status"]
        assert "w sd" in rows[name]
    assert chart_drawn(page, 0)
    assert exceptions(page) == []
    page.locator(".st-key-opt-charts").screenshot(path=str(ARTIFACTS / "repeats-8.png"))


@pytest.mark.parametrize("size", [(1400, 900), (1024, 576)])
def test_home_cuts_no_text(page, app_server, size):
    """Every section card and guided-experiment link on Home is whole: a link's label wraps instead
    of being cut mid-word (it was, at both sizes)."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_page(page, app_server, "")
    labels = page.locator("[data-testid=stPageLink] p")
    expect(labels).to_have_count(11)  # five sections (the Class page too), six experiments
    cut = labels.evaluate_all("ps => ps.filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.innerText)")
    assert cut == [], cut
    assert exceptions(page) == []
