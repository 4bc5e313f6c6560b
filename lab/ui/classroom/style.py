"""The Class page's own CSS: the room code in large type, and in present mode one projector screen
(less padding, the leaderboard's HTML table in large type)."""

from __future__ import annotations

import streamlit as st

CODE_PX = 56  # the room code's type: read from the back of a room
PRESENT_CODE_PX = 72
TABLE_PX = 18  # the leaderboard's type on a projector (the Optimizers page's tables: 16)

CSS = f"""<style>
.st-key-class-code h2 {{ font-size: 1.75rem; padding: 0; }}
.st-key-class-code h2 code {{ font-size: {CODE_PX}px; letter-spacing: 0.08em; padding: 0 0.2em; }}
</style>"""

PRESENT_CSS = f"""<style>
[data-testid="stMainBlockContainer"] {{ padding-top: 1.5rem; padding-bottom: 0.5rem; }}
.st-key-class-code h2 code {{ font-size: {PRESENT_CODE_PX}px; }}
.st-key-class-leaderboard {{ overflow: hidden; }}
table.class-leaderboard {{ width: 100%; table-layout: auto; border-collapse: collapse; font-size: {TABLE_PX}px; }}
table.class-leaderboard th, table.class-leaderboard td {{
  padding: 0.2rem 0.5rem; text-align: left; border-bottom: 1px solid rgba(49, 51, 63, 0.2);
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 14ch;
}}
.class-more {{ font-size: {TABLE_PX - 4}px; margin: 0.25rem 0.5rem; }}
</style>"""


def style(present: bool) -> None:
    st.html(CSS + (PRESENT_CSS if present else ""))
