"""Class rooms in the run store (lab/store/rooms.py) against SQLite and PostgreSQL, their rules and
messages (lab/app/rooms.py), and the board's frames (lab/app/classroom.py)."""

from __future__ import annotations

import json
import threading
import time

import pandas as pd
import pytest
import sqlalchemy as sa

from lab import store
from lab.app import classroom, limits
from lab.app import rooms as app_rooms
from lab.app.classroom import Challenge
from lab.core import engine
from lab.core.config import OptimizerConfig, RunConfig
from lab.core.results import summary_rows
from lab.store import codec, rooms, schema
from lab.store.rooms import RoomError, RoomRun

T1, T2, T3 = "1" * 22, "2" * 22, "3" * 22
PLENTY = rooms.PostLimits(runs=1_000, per_minute=1_000)


@pytest.fixture(scope="module")
def short_run():
    return engine.run(RunConfig(steps=40, seed=5, optimizers=(OptimizerConfig("SGD"), OptimizerConfig("Adam"))))


@pytest.fixture
def db(url):
    opened = store.open(url)
    yield opened
    opened.close()


@pytest.fixture
def room(db):
    opened, key = rooms.open_room(db, 4, 10)
    return opened.code, key


def _post(db, res, code, nick, session, limits=PLENTY, seq=1):
    return rooms.post(db, res, code=code, nickname=nick, session=session, seq=seq, limits=limits)


# ------------------------------------------------------------------------------------------ the store
def test_a_room_opens_with_a_short_code_and_only_its_keys_hash(db, room):
    code, key = room
    assert len(code) == 4 and set(code) <= set(rooms.CODE_ALPHABET)
    got = rooms.get(db, code)
    assert (got.is_open, got.names_hidden, got.challenge) == (True, False, None)
    with db.engine.connect() as conn:
        kept = conn.execute(sa.select(schema.ROOMS.c.key_hash)).scalar_one()
    assert kept == rooms.key_hash(key) and key not in kept
    assert rooms.get(db, "ZZZZ" if code != "ZZZZ" else "YYYY") is None


def test_nicknames_are_unique_in_a_room_whatever_their_case(db, room):
    code, _ = room
    rooms.join(db, code, "Ada", T1)
    rooms.join(db, code, "Ada", T1)  # the same session again: fine
    for other in ("Ada", "ADA", "ａｄａ"):  # fullwidth letters are the same name (NFKC)
        with pytest.raises(RoomError, match="already has this nickname") as err:
            rooms.join(db, code, other, T2)
        assert err.value.kind == "taken"
    rooms.join(db, code, "Grace", T2)
    assert rooms.member_of(db, T1) == (code, "Ada") and rooms.member_of(db, T3) is None
    rooms.leave(db, code, T1)
    assert rooms.member_of(db, T1) is None
    rooms.join(db, code, "ada", T3)  # free again once Ada left


def test_posts_are_listed_in_order_with_summary_and_board_points(db, room, short_run):
    code, _ = room
    rooms.join(db, code, "Ada", T1)
    rooms.join(db, code, "Grace", T2)
    ids = [_post(db, short_run, code, "Ada", T1), _post(db, short_run, code, "Grace", T2)]
    db.save(short_run, session=T3, seq=1)  # not posted: not on the board
    listed = rooms.runs(db, code)
    assert [(r.short_id, r.nickname) for r in listed] == list(zip(ids, ["Ada", "Grace"], strict=True))
    lane = listed[0].lanes[1]
    assert lane["optimizer"] == "Adam" and lane["lr"] == short_run.lanes[1].hyperparams["lr"]
    assert lane["steps"][0] == 0 and lane["steps"][-1] == 40 and len(lane["steps"]) <= 40
    assert lane["loss"][-1] == short_run.lanes[1].loss[-1]
    assert [row["optimizer"] for row in listed[0].summary] == ["SGD", "Adam"]
    assert rooms.version(db, code) == (2, listed[-1].id)
    assert [r.short_id for r in rooms.runs(db, code, after=listed[0].id)] == ids[1:]
    assert db.get(ids[0]).session == T1  # in Ada's history too


def test_a_post_is_refused_with_nothing_written(db, room, short_run):
    code, key = room
    rooms.join(db, code, "Ada", T1)
    with pytest.raises(RoomError) as err:
        _post(db, short_run, code, "Ada", T2)  # another session under Ada's name
    assert err.value.kind == "member"
    with pytest.raises(RoomError) as err:
        _post(db, short_run, "NOPE", "Ada", T1)
    assert err.value.kind == "unknown"
    two = rooms.PostLimits(runs=2, per_minute=1_000)
    _post(db, short_run, code, "Ada", T1, two)
    _post(db, short_run, code, "Ada", T1, two)
    with pytest.raises(RoomError, match="holds 2 runs") as err:
        _post(db, short_run, code, "Ada", T1, two)
    assert (err.value.kind, err.value.limit) == ("room_runs", 2)
    with pytest.raises(RoomError, match="2 runs in the last minute") as err:
        _post(db, short_run, code, "Ada", T1, rooms.PostLimits(runs=100, per_minute=2))
    assert err.value.kind == "rate"
    rooms.close(db, code, key)
    with pytest.raises(RoomError, match="closed") as err:
        _post(db, short_run, code, "Ada", T1)
    with pytest.raises(RoomError, match="closed"):
        rooms.join(db, code, "Linus", T3)
    assert db.count() == 2 and len(rooms.runs(db, code)) == 2


def test_only_the_teacher_key_hides_names_sets_the_challenge_closes_and_clears(db, room, short_run):
    code, key = room
    for act in (
        lambda k: rooms.hide_names(db, code, k, True),
        lambda k: rooms.set_challenge(db, code, k, "{}"),
        lambda k: rooms.close(db, code, k),
        lambda k: rooms.clear(db, code, k),
    ):
        with pytest.raises(RoomError, match="not the teacher key"):
            act("x" * 24)
        with pytest.raises(RoomError, match="not the teacher key"):
            act("' OR '1'='1")
    assert rooms.get(db, code) == rooms.get(db, code)  # unchanged
    rooms.join(db, code, "Ada", T1)
    sid = _post(db, short_run, code, "Ada", T1)
    rooms.hide_names(db, code, key, True)
    rooms.set_challenge(db, code, key, Challenge(measure=classroom.STEPS_TO_TOL).to_json())
    got = rooms.get(db, code)
    assert got.names_hidden and Challenge.from_json(got.challenge).measure == classroom.STEPS_TO_TOL
    assert rooms.clear(db, code, key) == 1
    assert rooms.runs(db, code) == [] and db.get(sid).session == T1  # off the board, still in the history
    rooms.close(db, code, key)
    assert not rooms.get(db, code).is_open


def test_the_teachers_session_holds_the_room_until_it_lets_it_go(db):
    opened, key = rooms.open_room(db, 4, 10, session=T1)
    code = opened.code
    assert rooms.taught_by(db, T1) == code and rooms.taught_by(db, T2) is None
    rooms.hide_names(db, code, T1, True)  # the session's token acts as the key does
    with pytest.raises(RoomError, match="not the teacher key"):
        rooms.close(db, code, T2)
    rooms.teacher(db, code, key, session=T2)  # another tab takes it up with the key: its session holds it too
    assert rooms.taught_by(db, T2) == code
    rooms.stop_teaching(db, code, T1)
    assert rooms.taught_by(db, T1) is None and rooms.get(db, code).names_hidden  # the room stays as it was
    with pytest.raises(RoomError, match="not the teacher key"):
        rooms.close(db, code, T1)
    with db.engine.connect() as conn:
        kept = conn.execute(sa.select(schema.TEACHERS.c.session_hash)).scalars().all()
    assert kept == [rooms.key_hash(T2)]  # tokens only as their hashes


def test_a_student_finds_the_room_again_after_its_teacher_closed_it(db, room):
    code, key = room
    rooms.join(db, code, "Ada", T1)
    rooms.close(db, code, key)
    assert rooms.member_of(db, T1) == (code, "Ada") and not rooms.get(db, code).is_open


def test_rooms_per_server_and_a_room_left_open_past_its_hours(db, monkeypatch):
    for _ in range(2):
        rooms.open_room(db, 5, 2)
    with pytest.raises(RoomError, match="2 rooms are open") as err:
        rooms.open_room(db, 5, 2)
    assert (err.value.kind, err.value.limit) == ("rooms", 2)
    monkeypatch.setattr(rooms, "ROOM_HOURS", 0)  # every room is past its hours: closed
    opened, _ = rooms.open_room(db, 5, 2)
    time.sleep(0.01)
    assert not rooms.get(db, opened.code).is_open


def test_concurrent_joins_under_one_name_give_it_to_one(db, room):
    code, _ = room
    outcomes: list[str] = []

    def join(session: str) -> None:
        try:
            rooms.join(db, code, "Ada", session)
            outcomes.append("joined")
        except RoomError as err:
            outcomes.append(err.kind)

    workers = [threading.Thread(target=join, args=(f"{k:022d}",)) for k in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(outcomes) == ["joined"] + ["taken"] * 5


def test_codes_and_names_are_parameters_never_sql(db, room, short_run):
    code, _ = room
    sly = "Robert'); DROP TABLE runs; --"
    rooms.join(db, code, sly, T1)
    _post(db, short_run, code, sly, T1)
    assert [r.nickname for r in rooms.runs(db, code)] == [sly]
    assert rooms.get(db, "' OR 1=1 --") is None and rooms.runs(db, "' OR 1=1 --") == []


# ------------------------------------------------------------------------------------------ rules
@pytest.mark.parametrize(("typed", "code"), [("k7mq", "K7MQ"), (" K7-MQ ", "K7MQ"), ("abcd efgh", "ABCDEFGH")])
def test_a_typed_code_is_read_as_the_store_keeps_it(typed, code):
    assert app_rooms.clean_code(typed) == code


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Type the room's code"),
        ("   ", "Type the room's code"),
        ("ABC", "4 to 16 letters and digits"),
        ("A" * 10_000, "has 10,000"),
        ("K0OL", "no 0, O, 1, I or L"),
        ("<script>", "is not a room code"),
        ("'; DROP TABLE rooms; --", "4 to 16"),
        ("😀😀😀😀", "is not a room code"),
        ("אבגד", "is not a room code"),
    ],
)
def test_a_bad_code_says_what_a_code_is(typed, message):
    with pytest.raises(ValueError, match=message):
        app_rooms.clean_code(typed)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  Ada  Lovelace ", "Ada Lovelace"),
        ("<script>alert(1)</script>"[:24], "<script>alert(1)</script"),
        ("**bold**", "**bold**"),
        ("[x](y)", "[x](y)"),
        ('O\'Brien "Bob"', 'O\'Brien "Bob"'),
        ("Zoë 😀", "Zoë 😀"),
        ("שלום", "שלום"),
        ("مرحبا", "مرحبا"),
    ],
)
def test_a_nickname_may_be_any_letters_punctuation_or_emoji(typed, kept):
    assert app_rooms.clean_nickname(typed) == kept


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Choose a nickname"),
        (" \t ", "Choose a nickname"),
        ("x" * 10_000, r"at most 24 characters here \(LAB_MAX_NICKNAME\); this one has 10,000"),
        ("evil\u202etxt", "U\\+202E"),  # a right-to-left override: the name would read backwards
        ("a\u200db", "U\\+200D"),
        ("bell\x07", "U\\+0007"),
    ],
)
def test_a_bad_nickname_says_why(typed, message):
    with pytest.raises(ValueError, match=message):
        app_rooms.clean_nickname(typed)


def test_the_nickname_limit_is_its_variable():
    lim = limits.load({"LAB_MAX_NICKNAME": "5"})
    assert app_rooms.clean_nickname("Grace", lim) == "Grace"
    with pytest.raises(ValueError, match="at most 5 characters"):
        app_rooms.clean_nickname("Gracie", lim)
    with pytest.raises(ValueError, match="LAB_MAX_NICKNAME = 41 is outside"):
        limits.load({"LAB_MAX_NICKNAME": "41"})
    with pytest.raises(ValueError, match="LAB_MAX_ROOM_CODE = 3 is outside"):
        limits.load({"LAB_MAX_ROOM_CODE": "3"})
    for name in ("rooms", "room_runs", "posts_per_minute"):
        assert getattr(limits.load({limits.variable(name): "7"}), name) == 7


@pytest.mark.parametrize(
    ("kind", "variable"), [("rooms", "LAB_MAX_ROOMS"), ("room_runs", "LAB_MAX_ROOM_RUNS"), ("rate", "LAB_MAX_POSTS")]
)
def test_a_limit_reached_names_its_variable(kind, variable):
    assert variable in app_rooms.said(RoomError(kind, "Reached.", 3))


# ------------------------------------------------------------------------------------------ the board
def _lane(optimizer, lr, loss):
    return {"optimizer": optimizer, "lr": lr, "steps": list(range(len(loss))), "loss": loss}


def _row(optimizer, lr, final, tol=None, steps=100, problem="regression", status="converged"):
    return {
        "optimizer": optimizer,
        "hyperparams": f'{{"lr": {lr}}}',
        "objective": problem,
        "steps": steps,
        "final_loss": final,
        "steps_to_tol": tol,
        "status": status,
    }


def _run(k, nick, rows, lanes=None):
    return RoomRun(id=k, short_id=f"run{k:05d}", nickname=nick, created=None, summary=rows, lanes=lanes or [])


BOARD_RUNS = [
    _run(1, "Ada", [_row("Adam", 0.1, 1e-3, 80), _row("SGD", 0.1, 1e-2)]),
    _run(2, "Grace", [_row("Adam", 0.01, 1e-5, 60)]),
    _run(3, "Ada", [_row("Adam", 0.3, 1e-6, 90)]),
    _run(4, "Linus", [_row("Adam", 10.0, float("nan"), None, status="diverged at step 3")]),
    _run(5, "Grace", [_row("Adam", 0.05, 1e-9, 20, steps=5_000)]),  # over a 1 000-step budget
    _run(6, "Alan", [_row("Adam", 0.05, 1e-9, 20, problem="rosenbrock")]),
]


def test_the_leaderboard_ranks_each_students_best_by_final_loss():
    lanes = classroom.lanes_frame(BOARD_RUNS)
    board = classroom.leaderboard(lanes, Challenge())
    assert list(board["student"]) == ["Grace", "Alan", "Ada", "Linus"]
    assert list(board["rank"]) == [1, 2, 3, 4] and list(board["attempts"]) == [2, 1, 2, 1]
    assert board.iloc[2]["result"] == "1.000e-06" and board.iloc[3]["result"] == "diverged"
    assert list(board.columns) == ["rank", "student", "result", "optimizer", "lr", "attempts"]  # no run length


def test_the_leaderboard_follows_the_challenge():
    lanes = classroom.lanes_frame(BOARD_RUNS)
    steps = Challenge(problem="regression", optimizers=("Adam",), steps=1_000, measure=classroom.STEPS_TO_TOL)
    board = classroom.leaderboard(lanes, steps)
    assert list(board["student"]) == ["Grace", "Ada", "Linus"]  # Alan on another problem; Grace's 5 000 steps not
    assert list(board["result"]) == ["60 steps", "80 steps", "not within tolerance"]
    sgd = classroom.leaderboard(lanes, Challenge(optimizers=("SGD",)))
    assert list(sgd["student"]) == ["Ada"] and sgd.iloc[0]["optimizer"] == "SGD"
    assert "fewest steps" in steps.text() and "at most 1,000 steps" in steps.text()
    assert Challenge().text().startswith("Open room")


def test_a_challenge_round_trips_and_refuses_what_it_cannot_be():
    c = Challenge(problem="beale", optimizers=("Adam", "SGD"), steps=300, measure=classroom.STEPS_TO_TOL)
    assert Challenge.from_json(c.to_json()) == c and Challenge.from_json(None).is_open
    for bad in ({"problem": "moon"}, {"measure": "speed"}, {"steps": 0}):
        with pytest.raises(ValueError):
            Challenge(**bad)


def test_the_scatter_is_the_classs_sweep_of_what_counts():
    lanes = classroom.lanes_frame(BOARD_RUNS)
    df = classroom.scatter_frame(lanes, Challenge(optimizers=("Adam",)))
    assert sorted(df["lr"]) == [0.01, 0.05, 0.05, 0.1, 0.3]  # the diverged rate has no result
    assert (df["result"] >= classroom.FLOOR).all() and set(df["optimizer"]) == {"Adam"}


def test_hidden_names_number_the_students_by_first_post():
    lanes = classroom.lanes_frame(BOARD_RUNS, hidden=True)
    assert list(dict.fromkeys(lanes["student"])) == ["Student 1", "Student 2", "Student 3", "Student 4"]
    att = classroom.attempts(BOARD_RUNS, hidden=True)
    assert att.iloc[0].tolist() == ["Student 1", 2] and "Ada" not in att.to_string()


def test_the_curves_stay_within_their_point_budget_and_off_zero():
    two = [_lane("Adam", 0.1, [1.0, 0.0, *([0.5] * 38)]), _lane("SGD", 1.0, [2.0] * 40)]
    long = [_run(k, f"s{k}", [], two) for k in range(300)]
    df = classroom.curves_frame(long, budget=6_000)
    assert len(df) <= 6_000 and (df["loss"] > 0).all()
    assert df.groupby(["post", "optimizer"]).ngroups == 600


def test_a_challenge_on_some_optimizers_draws_only_their_curves():
    two = [_lane("Adam", 0.1, [1.0, 0.5]), _lane("SGD", 1.0, [2.0, 1.0])]
    runs = [_run(1, "Ada", [], two)]
    assert set(classroom.board(runs, Challenge(optimizers=("Adam",))).curves["optimizer"]) == {"Adam"}
    assert set(classroom.board(runs, Challenge()).curves["optimizer"]) == {"Adam", "SGD"}


def test_a_board_of_300_runs_is_built_in_well_under_a_second(short_run):
    """The board's own work on a refresh after a post (reading the runs too: benchmarks/bench_board.py)."""
    lanes = json.loads(codec.board(short_run))["lanes"]
    many = [_run(k, f"student {k % 30}", summary_rows(short_run), lanes) for k in range(300)]
    start = time.perf_counter()
    board = classroom.board(many, Challenge())
    took = time.perf_counter() - start
    assert board.runs == 300 and board.students == 30 and len(board.leaderboard) == 30
    assert len(board.curves) <= classroom.CURVE_POINTS and len(board.scatter) == 600
    assert took < 1.0, took


def test_the_projected_leaderboard_is_text_and_one_screen_long():
    board = pd.DataFrame({"rank": range(1, 11), "student": ["<script>x</script>", *"abcdefghi"], "attempts": 1})
    html = classroom.leaderboard_html(board, rows=8)
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    assert html.count("<td>") == 16 and "and 2 more" in html  # 8 rows of 2 cells
    assert "more" not in classroom.leaderboard_html(board.head(3), rows=8)


def test_a_board_without_runs_is_empty_not_an_error():
    board = classroom.board([], Challenge())
    assert (board.runs, board.students) == (0, 0)
    assert isinstance(board.leaderboard, pd.DataFrame) and board.leaderboard.empty and board.curves.empty
