"""Helpers for driving the app with Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
HOME = str(ROOT / "lab" / "Home.py")
PAGES = {
    "autograd": "../pages/1_Autograd.py",
    "api": "../pages/2_PyTorch_API.py",
    "optimizers": "../pages/3_Optimizers.py",
    "gpu": "../pages/4_GPU.py",
    "class": "../pages/5_Class.py",
}


def open_page(page: str | None = None, query: dict | None = None, timeout: float = 120) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=timeout)
    if query:
        at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(PAGES[page]).run()
    return at


def table(at: AppTest, index: int = 0) -> pd.DataFrame:
    """The results table (an st.table of a pandas Styler) as a DataFrame."""
    value = at.table[index].value
    return value.data if hasattr(value, "data") else value


class MediaCapture:
    """Records the callables behind deferred download buttons, to produce their bytes on demand."""

    def __init__(self, monkeypatch):
        self.makers: dict[str, object] = {}
        original = MediaFileManager.add_deferred

        def capture(mgr, data_callable, *args, **kwargs):
            file_id = original(mgr, data_callable, *args, **kwargs)
            self.makers[file_id] = data_callable
            return file_id

        monkeypatch.setattr(MediaFileManager, "add_deferred", capture)

    def of(self, button) -> bytes:
        data = self.makers[button.proto.deferred_file_id]()
        return data.encode() if isinstance(data, str) else data


def open_tab(at: AppTest, label: str) -> AppTest:
    """Open one of the Optimizers page's result tabs (lazy: only the open one is drawn), as a click
    on it does: through the tabs' session state, then a rerun."""
    at.session_state["opt.tab"] = label
    return at.run()


def result_tabs(at: AppTest) -> list[str]:
    """The labels of the Optimizers page's result tabs, in order (the form has tabs of its own)."""
    from lab.app import view

    every = set(view.tab_labels(True, True, True)) | set(view.tab_labels(False, True, True))
    return [t.label for t in at.tabs if t.label in every]
