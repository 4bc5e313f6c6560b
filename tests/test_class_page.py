"""The Class page through AppTest: a teacher opens a room, students join it and train on the
Optimizers page, their runs land on the board; hidden names, a closed room, names shown as text."""

from __future__ import annotations

import json

import pytest
from apptest_helpers import PAGES, open_page

from lab.app import archive, rooms
from lab.core import caches
from lab.ui.classroom import style

LINK = {"opt": "GD,Adam", "steps": "40", "run": "1"}


@pytest.fixture
def fresh_store(tmp_path):
    """The process's store in a fresh file; every cache empty (a page test trains, not finds)."""
    archive.reset(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    caches.clear_all()
    yield
    caches.clear_all()
    archive.reset()


def _teacher():
    at = open_page("class")
    at.button(key="class.btn.open").click().run()
    assert not at.exception
    return at, at.session_state[rooms.TEACHING].code


def _join(code: str, nickname: str, query: dict | None = None):
    at = open_page("class", query)
    at.text_input[0].set_value(code)
    at.text_input[1].set_value(nickname)
    at.button(key="class.btn.join").click().run()
    assert not at.exception
    return at


def _train(at, seed: int):
    at.switch_page(PAGES["optimizers"]).run()
    at.number_input(key="shared.seed").set_value(seed)
    at.button(key="opt.btn.train").click().run()
    assert not at.exception
    return at


def _texts(at) -> list[str]:
    return [t.value for t in at.text]


def test_a_students_run_lands_on_the_teachers_board(fresh_store):
    teacher, code = _teacher()
    assert any(code in m.value for m in teacher.markdown) and teacher.get("image")  # the code beside its QR code
    assert teacher.session_state[rooms.TEACHING].key not in str(teacher.query_params)  # the key: session only
    student = _join(code.lower(), "Ada")
    assert f"You are in room {code} as Ada." in _texts(student)
    _train(student, 7)
    assert f"Posting to room {code} as Ada" in _texts(student)
    assert [t.value for t in student.toast] == [f"Posted to room {code}: it is on the board."]
    teacher.run()
    board = teacher.dataframe[0].value
    assert list(board["student"]) == ["Ada"] and board.iloc[0]["attempts"] == 1
    assert any(m.value.startswith("**1 run** from **1 student**") for m in teacher.markdown)
    assert len(teacher.get("vega_lite_chart")) == 3  # attempts, every curve, the class's sweep


def test_the_challenge_is_named_once_in_its_forms_label(fresh_store):
    teacher, _ = _teacher()
    teacher.multiselect[0].set_value(["Adam"])
    teacher.button(key="class.btn.challenge").click().run()
    labels = [e.label for e in teacher.expander]
    assert "Challenge: on any problem, with Adam; the lowest final loss wins." in labels, labels
    assert not any("Challenge: Challenge" in label for label in labels)


def test_hidden_names_and_a_closed_room(fresh_store):
    teacher, code = _teacher()
    student = _train(_join(code, "Grace"), 8)
    teacher.toggle(key="class.hide").set_value(True).run()
    board = teacher.dataframe[0].value
    assert list(board["student"]) == ["Student 1"] and "Grace" not in teacher.dataframe[0].value.to_string()
    teacher.button(key="class.btn.close").click().run()
    assert any("closed" in m.value for m in teacher.markdown)
    student.number_input(key="shared.seed").set_value(9)
    student.button(key="opt.btn.train").click().run()
    assert not student.exception
    assert any(f"not posted to room {code}" in w.value and "closed" in w.value for w in student.warning)
    assert not student.toast  # refused: no "Posted to room"
    teacher.run()
    assert len(teacher.dataframe[0].value) == 1 and teacher.dataframe[0].value.iloc[0]["attempts"] == 1
    late = _join(code, "Linus")
    assert any("closed" in e.value for e in late.error)


def test_a_closed_room_is_said_closed_where_it_posted_and_after_a_reload(fresh_store):
    teacher, code = _teacher()
    student = _train(_join(code, "Ada"), 14)
    teacher.button(key="class.btn.close").click().run()
    student.number_input(key="shared.seed").set_value(15)
    student.button(key="opt.btn.train").click().run()
    closed = f"Room {code} is closed: your runs are no longer posted to it."
    assert closed in _texts(student) and f"Posting to room {code} as Ada" not in _texts(student)
    assert student.button(key="class.btn.leave_here")
    token = _token(student)
    again = open_page("class", {"s": token})  # a reload of the Class page: the room, closed, not a join form
    assert not again.exception and f"You are in room {code} as Ada." in _texts(again)
    assert any(f"Room {code} is closed" in w.value for w in again.warning) and again.button(key="class.btn.leave")
    assert not any(b.key == "class.btn.join" for b in again.button)
    assert closed in _texts(open_page("optimizers", {**LINK, "s": token}))


@pytest.mark.parametrize("nickname", ["<script>alert(1)</script>"[:24], "**bold**", "[x](y)", "שלום :smile:"])
def test_a_nickname_is_shown_as_text_never_markdown(fresh_store, nickname):
    teacher, code = _teacher()
    student = _train(_join(code, nickname), 10)
    assert f"Posting to room {code} as {nickname}" in _texts(student)
    teacher.run()
    assert list(teacher.dataframe[0].value["student"]) == [nickname]
    for at in (teacher, student):
        markdown = [m.value for m in (*at.markdown, *at.caption, *at.info, *at.warning, *at.error)]
        assert not any(nickname in m for m in markdown), markdown


def test_a_join_link_fills_the_code_and_a_taken_nickname_is_refused(fresh_store):
    _, code = _teacher()
    _join(code, "Ada")
    again = _join(code, "ADA", {"room": code})
    assert again.text_input[0].value == code  # from the link
    assert any("already has this nickname" in e.value for e in again.error)
    assert rooms.MEMBER not in again.session_state


def test_leaving_stops_the_posting(fresh_store):
    teacher, code = _teacher()
    student = _train(_join(code, "Ada"), 11)
    student.button(key="class.btn.leave_here").click().run()
    assert not student.exception and not any("Posting to room" in t for t in _texts(student))
    student.number_input(key="shared.seed").set_value(12)
    student.button(key="opt.btn.train").click().run()
    teacher.run()
    assert teacher.dataframe[0].value.iloc[0]["attempts"] == 1


def test_a_reload_with_the_sessions_token_is_still_in_the_room(fresh_store):
    _, code = _teacher()
    student = _join(code, "Ada")
    token = student.query_params["s"]
    token = token[0] if isinstance(token, list) else token
    again = open_page("optimizers", {**LINK, "s": token})  # a reload: a new session, the same URL
    assert not again.exception and f"Posting to room {code} as Ada" in _texts(again)
    other = open_page("optimizers", LINK)
    assert not any("Posting to room" in t for t in _texts(other))


def test_a_students_page_in_a_new_session_shows_its_run_from_the_store_not_trained_or_posted_again(
    fresh_store, engine_calls
):
    teacher, code = _teacher()
    student = _train(_join(code, "Ada"), 16)
    url = {k: student.query_params[k] for k in student.query_params}
    url = {k: v[0] if isinstance(v, list) else v for k, v in url.items()}
    assert url["run"] == "1" and url["s"] == _token(student)
    trained = len(engine_calls)
    caches.clear_all()  # another replica: nothing in its caches
    again = open_page("optimizers", url)  # its page reconnected and rerun there: a new session, the same URL
    assert not again.exception and len(engine_calls) == trained
    assert "from this session's stored history" in " ".join(c.value for c in again.caption)
    assert f"Posting to room {code} as Ada" in _texts(again)
    teacher.run()
    assert teacher.dataframe[0].value.iloc[0]["attempts"] == 1  # not posted twice


def _token(at) -> str:
    token = at.query_params["s"]
    return token[0] if isinstance(token, list) else token


def test_a_reload_or_present_mode_keeps_the_teacher_in_the_room(fresh_store):
    teacher, code = _teacher()
    key, token = teacher.session_state[rooms.TEACHING].key, _token(teacher)
    for query in ({"s": token}, {"s": token, "present": "1"}):  # a reload: a new session, the same URL
        again = open_page("class", query)
        assert not again.exception and again.session_state[rooms.TEACHING].code == code
        assert any(code in m.value for m in again.markdown) and key not in str(again.query_params)
    again = open_page("class", {"s": token})
    again.button(key="class.btn.close").click().run()  # the token holds the room as the key does
    assert not again.exception and any("closed" in m.value for m in again.markdown)
    again.button(key="class.btn.done").click().run()  # stop teaching here: a reload no longer finds it
    assert rooms.TEACHING not in open_page("class", {"s": token}).session_state
    assert rooms.TEACHING not in open_page("class").session_state  # another browser: not its room


def test_the_present_switch_turns_present_mode_on_and_off(fresh_store):
    teacher, code = _teacher()
    teacher.toggle(key="class.present").set_value(True).run()
    assert not teacher.exception and teacher.query_params["present"] in ("1", ["1"]) and not teacher.title
    assert teacher.session_state[rooms.TEACHING].code == code and teacher.toggle(key="class.present").value
    teacher.toggle(key="class.present").set_value(False).run()
    assert "present" not in teacher.query_params and teacher.title


def test_present_mode_shows_the_board_for_a_projector(fresh_store):
    teacher, code = _teacher()
    _train(_join(code, "<b>Ada</b>"), 13)
    teacher.query_params["present"] = "1"
    teacher.run()
    assert not teacher.exception and not teacher.title  # no title, no controls: the code, its QR code, the board
    assert not any(b.key == "class.btn.close" for b in teacher.button)
    html = "".join(h.proto.body for h in teacher.get("html"))
    assert "class-leaderboard" in html and "&lt;b&gt;Ada&lt;/b&gt;" in html and "<b>Ada" not in html  # as text
    assert f"font-size: {style.PRESENT_CODE_PX}px" in html and style.PRESENT_CODE_PX >= 48  # the code, large
    assert [t.label for t in teacher.tabs][:2] == ["Every loss curve", "Learning rate against final loss"]
    specs = [json.loads(c.proto.spec) for c in teacher.get("vega_lite_chart")]
    assert len(specs) == 3 and all(s["config"]["axis"]["labelFontSize"] >= 16 for s in specs)
    assert all(s["height"] <= 300 for s in specs)  # beside the leaderboard, under the code: one screen
