"""The results' tabs, one module each. Tabs are lazy: only the open one is computed and drawn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lab.app import view
from lab.app.query import PageState
from lab.app.runs import Entry
from lab.ui.optimizers.context import Page


@dataclass(frozen=True)
class Shown:
    """The runs on screen (one, or two overlaid) and what every tab needs to draw them."""

    page: Page
    entries: list[Entry]
    key: tuple  # one chart key per run: equal keys, equal charts (their specs are cached)
    surface: bool  # a two-parameter surface rather than the regression
    form_state: PageState | None  # what the form would train now (None: it cannot)

    @property
    def main(self) -> Entry:
        return self.entries[0]

    def per_run(self) -> Iterator[tuple[Entry, tuple, str]]:
        """(entry, its chart key, " — run #n" when several are overlaid): each run's own chart."""
        for entry, one_key in zip(self.entries, self.key, strict=True):
            yield entry, one_key, f" — run #{entry.run_id}" if len(self.entries) > 1 else ""


def tabs() -> dict[str, Callable[[Shown], None]]:
    """Each tab's label -> the function that draws it."""
    from lab.ui.optimizers.tabs import downloads, explain, fit, paths, schedule, sweep, table

    return {
        view.TABLE: table.draw,
        view.FIT: fit.draw,
        view.PATHS: paths.draw,
        view.EXPLAIN: explain.draw,
        view.SCHEDULE: schedule.draw,
        view.SWEEP: sweep.draw,
        view.DOWNLOADS: downloads.draw,
    }
