"""The Class page in Chromium: a teacher's board and two students' pages in one browser, each in
its own context (its own session); each student's run is on the teacher's board within 3 s of the
student seeing it, without the teacher touching anything (the board refreshes by itself)."""

from __future__ import annotations

import re
import time

import pytest
from app import board_line, click_and_wait, exceptions, open_page, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
BOARD_WITHIN = 3.0  # seconds from a student's results to the run on the teacher's board


def test_each_students_run_is_on_the_teachers_board_within_3_s(browser, app_server):
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(3)]
    try:
        teacher, *students = (ctx.new_page() for ctx in contexts)
        open_page(teacher, app_server, "class")
        click_and_wait(teacher, "Open a room")
        heading = teacher.locator("h2").filter(has_text="Room").first.inner_text()
        code = re.search(r"Room\s+([A-Z0-9]+)", heading).group(1)
        expect(teacher.locator(".st-key-class-qr img")).to_have_count(1)
        for n, (page, nickname) in enumerate(zip(students, ["Ada", "<b>Grace</b>"], strict=True), start=1):
            open_page(page, app_server, f"class?room={code}")
            page.get_by_role("textbox", name="Nickname").fill(nickname)
            click_and_wait(page, "Join")
            expect(page.get_by_text(f"You are in room {code} as {nickname}.")).to_have_count(1)
            page.get_by_role("link", name=re.compile("Train on the Optimizers page")).click()
            page.wait_for_timeout(100)
            wait_idle(page)
            expect(page.get_by_text(f"Posting to room {code} as {nickname}", exact=True)).to_have_count(1)
            expect(page.get_by_text("Ignored unknown parameter")).to_have_count(0)  # the link carries ?room=
            click_and_wait(page, "Train all")
            expect(page.get_by_text("Results — run #1")).to_have_count(1)
            shown = time.monotonic()
            board_line(teacher, n).wait_for(timeout=BOARD_WITHIN * 1000 + 2_000)
            took = time.monotonic() - shown
            assert took <= BOARD_WITHIN, f"{nickname}'s run reached the board after {took:.1f} s"
            assert exceptions(page) == []
        assert exceptions(teacher) == []
    finally:
        for ctx in contexts:
            ctx.close()
