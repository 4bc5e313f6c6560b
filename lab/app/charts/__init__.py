"""Chart builders: pure functions from results to ``alt.Chart`` (test them with ``to_dict()``).

One module per chart, each built from small named layers; what they share in
:mod:`~lab.app.charts.common` (payload bounds and downsampling, colours, sizes, log axes) and
:mod:`~lab.app.charts.slider` (the log-spaced step slider). The names below are the package's
public ones: ``from lab.app import charts; charts.loss_chart(...)``.

What reaches the browser is bounded: every curve is downsampled to at most ``max_points``
points whatever the step count (first and last step kept, min and max of each bucket kept so
spikes survive), and only finite, positive values go to a log scale — a diverged run's line ends
at its last finite step and is marked there.
"""

from lab.app.charts.attempts import attempts_chart
from lab.app.charts.class_curves import class_curves_chart
from lab.app.charts.class_sweep import class_sweep_chart
from lab.app.charts.common import (
    DATA_COLOR,
    DIVERGED_COLOR,
    HOVER_POINTS,
    LOG_LABELS,
    MAX_POINTS,
    MAX_TOTAL,
    SHARED_COLOR,
    SPECS,
    TRUE_COLOR,
    Runs,
    chart_height,
    color_of,
    downsample,
    log_ticks,
    segments,
    spec,
)
from lab.app.charts.curve import curve_chart
from lab.app.charts.fit import SAME_LINE, data_chart, fit_chart, same_lines
from lab.app.charts.focus import FALLING, action_steps, precision, rounding_level, still_falling, window_caption
from lab.app.charts.gradient_noise import NOISE, NOISE_KINDS, noise_for, noise_frames, noise_variance_chart
from lab.app.charts.loss import loss_chart
from lab.app.charts.loss_frames import band_frame, banded, curve_frame, divergence_frame
from lab.app.charts.paths import landscape_chart, trajectory_chart
from lab.app.charts.schedule import lr_chart, lr_frame, lr_lines, scheduled
from lab.app.charts.slider import LOSS_SLIDER, PATHS_SLIDER, SLIDER_POSITIONS, slider_steps
from lab.app.charts.step_size import PARAM_COLORS, step_size_chart, step_size_frame
from lab.app.charts.sweep import sweep_chart
from lab.app.charts.timing import timing_chart

__all__ = [
    "DATA_COLOR",
    "DIVERGED_COLOR",
    "FALLING",
    "HOVER_POINTS",
    "LOG_LABELS",
    "LOSS_SLIDER",
    "MAX_POINTS",
    "MAX_TOTAL",
    "NOISE",
    "NOISE_KINDS",
    "PARAM_COLORS",
    "PATHS_SLIDER",
    "SAME_LINE",
    "SHARED_COLOR",
    "SLIDER_POSITIONS",
    "SPECS",
    "TRUE_COLOR",
    "Runs",
    "action_steps",
    "attempts_chart",
    "band_frame",
    "banded",
    "chart_height",
    "class_curves_chart",
    "class_sweep_chart",
    "color_of",
    "curve_chart",
    "curve_frame",
    "data_chart",
    "divergence_frame",
    "downsample",
    "fit_chart",
    "landscape_chart",
    "log_ticks",
    "loss_chart",
    "lr_chart",
    "lr_frame",
    "lr_lines",
    "noise_for",
    "noise_frames",
    "noise_variance_chart",
    "precision",
    "rounding_level",
    "same_lines",
    "scheduled",
    "segments",
    "slider_steps",
    "spec",
    "step_size_chart",
    "step_size_frame",
    "still_falling",
    "sweep_chart",
    "timing_chart",
    "trajectory_chart",
    "window_caption",
]
