"""What the Optimizers page decides about the runs it shows, as plain functions: which runs are on
screen and under which labels, when a chart can be reused, what the share box holds, and the
sentences around a result. The page only draws what these return."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from lab.app.query import PageState, to_query
from lab.app.runs import Entry, RunStore
from lab.core.config import RunConfig
from lab.core.results import RunResult

# The results' depth, one lazy tab each (only the open one is computed): on a surface the paths are
# the picture (there is no data to fit), so they open first.
TABLE, FIT, PATHS, EXPLAIN, DOWNLOADS = "Table", "Fit", "Paths", "Explain a step", "Downloads & history"
SCHEDULE, SWEEP = "Schedule", "Sweep"


def tab_labels(surface: bool, schedule: bool = False, sweep: bool = False) -> list[str]:
    """The results' tabs, the one that opens first leading; Schedule when a run on screen has one,
    Sweep once learning rates were tuned."""
    first = [PATHS, TABLE] if surface else [TABLE, FIT, PATHS]
    return [*first, EXPLAIN, *([SCHEDULE] if schedule else []), *([SWEEP] if sweep else []), DOWNLOADS]


def same_run(a: RunConfig, b: RunConfig) -> bool:
    """Whether two configs ask the same question: equal apart from the device they run on."""
    return {**a.to_dict(), "device": None} == {**b.to_dict(), "device": None}  # no rebuild: no limit re-checked


def shown_entries(store: RunStore, run_ids: list[int]) -> list[Entry]:
    """The runs on screen: those of ``run_ids`` still in the store, in that order."""
    return [e for e in (store.by_id(i) for i in run_ids) if e is not None]


def overlay(entries: list[Entry]) -> list[tuple[str, RunResult]]:
    """(label prefix, result) per run: a prefix "#id " only when several runs share a chart."""
    return [(f"#{e.run_id} " if len(entries) > 1 else "", e.result) for e in entries]


def chart_key(entries: list[Entry]) -> tuple:
    """A cache key for charts of these runs: equal configs give equal results, so equal keys give
    equal charts (for every session)."""
    return tuple((prefix, e.config.to_json()) for (prefix, _), e in zip(overlay(entries), entries, strict=True))


def results_heading(entries: list[Entry], form_state: PageState | None) -> str:
    """The results' title, saying when the form has changed since the run shown was trained."""
    label = " vs ".join(f"run #{e.run_id}" for e in entries)
    shown = entries[0].asked or entries[0].config  # a stopped run: what was asked of it
    stale = form_state is not None and len(entries) == 1 and shown != form_state.config
    return f"Results — {label}" + (" (settings changed since: press Train all)" if stale else "")


def share_state(cfg: RunConfig, url_state: PageState) -> PageState:
    """The page state a link to ``cfg`` carries: "same learning rate for all" only when ``cfg`` is
    the very configuration the URL described (otherwise each optimizer's rate is spelled out)."""
    return PageState(cfg, url_state.same_lr if cfg == url_state.config else None)


def share_link(base_url: str, cfg: RunConfig, url_state: PageState) -> str:
    """The link that opens and trains ``cfg``: for a guided experiment's own run, the experiment's
    link (it reopens the explanation too); otherwise every setting spelled out."""
    if url_state.experiment is not None and same_run(cfg, url_state.config):
        return f"{base_url}?{urlencode({'exp': url_state.experiment})}"
    return f"{base_url}?{urlencode(to_query(share_state(cfg, url_state)))}"


def stored_link(base_url: str, short_id: str) -> str:
    """The link that opens the stored run ``short_id`` as it was kept (lab/app/archive.py)."""
    return f"{base_url}?{urlencode({'r': short_id})}"


def source_message(source: str, run_id: int) -> str | None:
    """What to say about where a run came from, or None when it was just trained."""
    if source == "session":
        return f"Run #{run_id} already had these settings: shown again from this session's history, without training."
    if source == "shared cache":
        return "These settings were already trained on this server: shown without training again."
    return None


def stopped_message(res: RunResult) -> str:
    """What to say of a run that stopped before the steps it was asked for."""
    return (
        f"This run {res.stopped} (twice the larger of its estimate and the server's budget). Shown: the "
        f"{res.config.steps:,} steps it reached. Fewer steps, samples, repeats or optimizers finish in time."
    )


def history_labels(store: RunStore) -> dict[int, str]:
    """A one-line label per kept run, for the history's picker (:meth:`Entry.label`: the learning
    rates and the precision tell apart runs that differ only in those)."""
    return {e.run_id: e.label() for e in store.entries.values()}


def throttled(report: Callable[[float], None], every: float = 0.25) -> Callable[[float], None]:
    """``report`` called at most once per ``every`` seconds, and always for the end (1.0): the
    engine reports every chunk of steps, and each report is a message to the browser."""
    last = -float("inf")

    def call(fraction: float) -> None:
        nonlocal last
        now = time.perf_counter()
        if fraction >= 1.0 or now - last >= every:
            last = now
            report(fraction)

    return call


# Below about 1 100 px (a projector at 1280 x 720 and 125 % zoom, a laptop with the sidebar open)
# side-by-side charts leave each a sliver: stack them full width, let buttons wrap to a new row
# rather than cut their labels, and let long labels wrap.
NARROW_CSS = """<style>
/* The workspace starts high: less of Streamlit's empty band above the title. */
[data-testid="stMainBlockContainer"] { padding-top: 3rem; }
@media (max-width: 1100px) {
  /* The workspace's two columns stack, the results (the chart) first and the controls under them. */
  .st-key-opt-workspace > [data-testid="stLayoutWrapper"] > [data-testid="stHorizontalBlock"] {
    flex-direction: column-reverse;
  }
  .st-key-opt-workspace > [data-testid="stLayoutWrapper"] > [data-testid="stHorizontalBlock"]
    > [data-testid="stColumn"] {
    flex: 1 1 100% !important; width: 100% !important; min-width: 100%;
  }
  .st-key-opt-charts [data-testid="stHorizontalBlock"],
  .st-key-opt-experiments [data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
  .st-key-opt-charts [data-testid="stColumn"],
  .st-key-opt-experiments [data-testid="stColumn"] {
    flex: 1 1 100% !important; width: 100% !important; min-width: 100%;
  }
  .st-key-opt-actions [data-testid="stHorizontalBlock"],
  .st-key-opt-controls [data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
  .st-key-opt-actions [data-testid="stColumn"] { flex: 1 1 11rem !important; min-width: 11rem; }
  .st-key-opt-controls [data-testid="stColumn"] { flex: 1 1 14rem !important; min-width: 14rem; }
}
/* A number in the results table never breaks across lines ("1.191e-|13"): the table scrolls instead. */
[class*="st-key-opt-results_table"] { overflow-x: auto; }
[class*="st-key-opt-results_table"] td, [class*="st-key-opt-results_table"] td * {
  white-space: nowrap !important; overflow-wrap: normal !important; word-break: keep-all !important;
}
/* Every chosen optimizer stays visible: the picker's tags wrap onto more lines instead of scrolling. */
[data-testid="stMultiSelectTagsContainer"] {
  flex-wrap: wrap !important; overflow: visible !important; height: auto !important;
}
[data-testid="stMultiSelect"] [data-baseweb="select"] > div,
[data-testid="stMultiSelect"] [role="group"] { height: auto !important; max-height: none !important; }
[data-testid="stWidgetLabel"] p { white-space: normal !important; }
[data-testid="stButton"] button p, [data-testid="stPageLink"] span p { white-space: normal; }
/* The step sliders are log-spaced: their raw position means nothing; the charts print the step. */
.st-key-opt-loss_chart .vega-bind input[type=range] + span,
[class*="st-key-opt-paths_chart"] .vega-bind input[type=range] + span { display: none; }
/* The rate chart's step rule follows the loss chart's slider (mirrored): it needs no slider of its own. */
.st-key-opt-lr_chart .vega-bindings, .st-key-opt-noise_chart .vega-bindings { display: none !important; }
</style>"""


# Run once in the rerun that produced new results: bring their heading to the top of the screen
# (the page's own scrolling, from a same-origin st.iframe).
SCROLL_TO_RESULTS = """<script>
const doc = window.parent.document;
const heading = [...doc.querySelectorAll("h3")].find((h) => h.textContent.startsWith("Results"));
if (heading) heading.scrollIntoView({block: "start"});
</script>"""


def play_button(container_key: str) -> str:
    """A Play/Pause button that walks the step slider of the chart in the container ``container_key``
    from start to end in about ten seconds (an st.iframe of the same origin reaching the
    page's slider, which Vega listens to); and, once per page, a listener that moves the loss
    chart's step marker with any paths slider."""
    css_class = "st-key-" + container_key.replace(".", "-")
    return f"""<button id="play" style="font: 14px sans-serif; padding: 4px 14px; border-radius: 6px;
 border: 1px solid #bbb; background: #fff; cursor: pointer">&#9654; Play</button>
<script>
const doc = window.parent.document, button = document.getElementById("play");
let timer = null;
function stop() {{ clearInterval(timer); timer = null; button.innerHTML = "&#9654; Play"; }}
// Keep the loss, rate and gradient-variance charts' step markers where this slider is (all are the
// same log-spaced slider); the loss chart's own slider moves the others too. The newest button
// owns the listener: a listener from a frame Streamlit has since replaced would never run again.
{{
  const mirror = (event) => {{
    const sources = "[class*=st-key-opt-paths_chart], .st-key-opt-loss_chart";
    const source = event.target.closest && event.target.closest(sources);
    if (!source || event.target.type !== "range") return;
    const mirrors = doc.querySelectorAll(
      ".st-key-opt-loss_chart input[type=range], .st-key-opt-lr_chart input[type=range], "
      + ".st-key-opt-noise_chart input[type=range]");
    for (const other of mirrors) {{
      if (other === event.target || other.value === event.target.value) continue;
      other.value = event.target.value;
      other.dispatchEvent(new Event("input", {{bubbles: true}}));
    }}
  }};
  if (window.parent.__labStepMirror) doc.removeEventListener("input", window.parent.__labStepMirror, true);
  window.parent.__labStepMirror = mirror;
  doc.addEventListener("input", mirror, true);
}}
button.onclick = () => {{
  const slider = doc.querySelector(".{css_class} input[type=range]");
  if (!slider) return;
  if (timer) return stop();
  if (+slider.value >= +slider.max) slider.value = slider.min;
  button.innerHTML = "&#10074;&#10074; Pause";
  timer = setInterval(() => {{
    slider.value = Math.min(+slider.max, +slider.value + 2);
    slider.dispatchEvent(new Event("input", {{bubbles: true}}));
    if (+slider.value >= +slider.max) stop();
  }}, 50);
}};
</script>"""
