"""Issue 11, findings 3 and 4: values the package's schema admits (and NULLs where it says NOT
NULL) are read tolerantly, marked and counted; they never crash a command or a read."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evaltui.cli.main import main
from evaltui.diff.accumulate import RunAccumulator
from evaltui.store import RunStore, runload
from evaltui.store.decode import (
    NULL_TEXT,
    UNREADABLE_INT,
    Tally,
    Values,
    stored_bytes,
    tolerant_text,
)
from tests.hostilestores import (
    BadText,
    HostileStore,
    check_outcome,
    one_run_store,
    run_read_commands,
    well_formed,
)
from tests.storesweep import read_everything

# (table, column, value): finding 3's values, each alone in an otherwise well-formed store
ODD_VALUES: list[tuple[str, str, object]] = [
    ("runs", "started_at", "2026-11-30T10:00:00Z"),
    ("runs", "finished_at", "2026-11-30T10:05:00Z"),
    ("runs", "config", b'{"threshold": 0.5}\xff'),
    ("cases", "output", b"\x00\x01binary output \xff"),
    ("scores", "reason", b"a reason\xff"),
    ("scores", "score", "high"),
    ("scores", "score", b"\x3f\xe0"),
    ("cases", "idx", "first"),
    ("cases", "idx", 2.5),
    ("cases", "latency_ms", "120 ms"),
    ("runs", "name", None),
    ("runs", "model", None),
    ("runs", "status", None),
    ("runs", "started_at", None),
    ("scores", "scorer_name", None),
    ("scores", "score", None),
    ("cases", "idx", None),
    ("suites", "created_at", None),
    ("runs", "name", BadText(b"run \xff\xfe name")),  # finding 4: text that is not UTF-8
    ("cases", "output", BadText(b"out \xc3\x28 put")),
    ("scores", "scorer_name", BadText(b"judge\xff")),
]
# A key that is not text reads as its text, but nothing can look it up by that text again.
ODD_KEYS: list[tuple[str, str, object]] = [
    ("cases", "id", b"c\xff"),
    ("cases", "id", BadText(b"c\xff")),  # read with U+FFFD, it cannot be looked up either
    ("runs", "id", None),
    ("scores", "case_id", 7),
]


@pytest.mark.parametrize(("table", "column", "value"), ODD_VALUES + ODD_KEYS)
def test_every_read_command_takes_an_odd_value(
    tmp_path: Path, table: str, column: str, value: object
) -> None:
    store = one_run_store(tmp_path / "store.db", table, column, value)
    for outcome in run_read_commands(store.path, "r1", "r2", "c1"):
        check_outcome(outcome)  # exit 0, or 2 with one line (a key that cannot be found)
        if (table, column, value) not in ODD_KEYS:
            assert outcome.code == 0 or outcome.argv[0] == "trace", outcome


@pytest.mark.parametrize(("table", "column", "value"), ODD_VALUES)
async def test_the_store_reads_an_odd_value_and_counts_it(
    tmp_path: Path, table: str, column: str, value: object
) -> None:
    hostile = one_run_store(tmp_path / "store.db", table, column, value)
    store = await RunStore.open(hostile.path)
    try:
        runs = {run.id: run for run in await store.list_runs()}
        await store.list_suites()
        run = runs["r1"]
        await store.run_summary(run.id, run.threshold)
        await store.failing_cases(run.id, run.threshold)
        index = await store.run_index(run.id)
        rows = await store.case_rows(index.ids)
        cases = await store.get_cases(index.ids)
        assert len(index) == len(rows) == len(cases) == 1
        await store.get_case(index.ids[0])
        await store.case_history(run, cases[0].input.raw or "")
        assert store.unreadable_values() >= 1
        assert store.unreadable_values("r2") == 0  # the well-formed run next to it
    finally:
        await store.close()


def test_text_started_at_is_null_in_json_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = one_run_store(tmp_path / "store.db", "runs", "started_at", "yesterday")
    assert main(["runs", "--json", "--store", str(store.path)]) == 0
    out, err = capsys.readouterr()
    runs = {run["id"]: run for run in json.loads(out)}
    assert runs["r1"]["started_at"] is None
    assert runs["r1"]["unreadable_values"] == 1
    assert runs["r2"]["unreadable_values"] == 0
    assert err == (
        f"evaltui: note: 1 value could not be read as stored (shown as {NULL_TEXT}, U+FFFD or -1)\n"
    )


def test_a_started_at_beyond_python_dates_is_shown_as_a_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = one_run_store(tmp_path / "store.db", "runs", "started_at", 2**62)
    assert main(["runs", "--store", str(store.path)]) == 0
    assert f"{2**62} ms (out of range)" in capsys.readouterr().out


def test_a_text_score_fails_as_the_package_compares_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """MIN(score) of a text score is the text; the package compares it as NaN: not a pass."""
    store = HostileStore(tmp_path / "store.db")
    store.insert("suites", **well_formed("suites"))
    store.insert("runs", **well_formed("runs"))
    store.insert("cases", **well_formed("cases"))
    store.insert("scores", **well_formed("scores", score="high"))
    assert main(["summary", "r1", "--json", "--store", str(store.path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["passCount"], summary["failCount"]) == (0, 1)
    assert summary["unreadableValues"] == 1


def test_the_summary_of_a_well_formed_store_has_the_package_keys_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = one_run_store(tmp_path / "store.db", "runs", "name", "well formed")
    assert main(["summary", "r1", "--json", "--store", str(store.path)]) == 0
    out, err = capsys.readouterr()
    assert "unreadableValues" not in json.loads(out)
    assert err == ""


async def test_null_and_wrong_types_are_marked(tmp_path: Path) -> None:
    store = HostileStore(tmp_path / "store.db")
    store.insert("suites", **well_formed("suites", created_at=None))
    store.insert("runs", **well_formed("runs", name=None, started_at="soon", status=None))
    store.insert("cases", **well_formed("cases", idx="first", output=b"bytes", latency_ms="1s"))
    store.insert("scores", **well_formed("scores", scorer_name=None, score=None, reason=b"why"))
    opened = await RunStore.open(store.path)
    try:
        (suite,) = await opened.list_suites()
        (run,) = await opened.list_runs()
        case = await opened.get_case("c1")
    finally:
        await opened.close()
    assert suite.created_at == UNREADABLE_INT
    assert (run.name, run.status, run.started_at) == (NULL_TEXT, NULL_TEXT, UNREADABLE_INT)
    assert set(run.unreadable) == {"name", "status", "started_at"}
    assert (case.idx, case.output, case.latency_ms) == (UNREADABLE_INT, "bytes", None)
    (score,) = case.scores
    assert score.scorer_name == NULL_TEXT and math.isnan(score.score) and score.reason == "why"
    assert set(case.unreadable) == {"idx", "output", "latency_ms", "scorer_name", "score", "reason"}


async def test_four_outputs_that_are_not_utf8_leave_a_big_run_readable(tmp_path: Path) -> None:
    """Finding 4: four such outputs made a 3,000-case run read "0 cases (indexing...)"."""
    store = HostileStore(tmp_path / "store.db")
    store.insert("suites", **well_formed("suites"))
    store.insert("runs", **well_formed("runs"))
    bad = {100, 1000, 2000, 2999}
    store.insert_many(
        "cases",
        [
            well_formed(
                "cases", id=f"c{i:04d}", idx=i, output=BadText(b"\xff\xfe") if i in bad else "fine"
            )
            for i in range(3000)
        ],
    )
    opened = await RunStore.open(store.path)
    try:
        index = await opened.run_index("r1")
        rows = await opened.case_rows(index.ids)
        assert len(index) == len(rows) == 3000
        replaced = [row.idx for row in rows if "\ufffd" in row.output_preview]
        assert replaced == sorted(bad)
        assert opened.unreadable_values("r1") == 4
        assert opened.reads_tolerantly
        output = (await opened.get_case("c0100")).output
        assert output == "\ufffd\ufffd" and stored_bytes(output) == b"\xff\xfe"  # full view
        assert stored_bytes((await opened.get_case("c0101")).output) is None
    finally:
        await opened.close()


def test_one_run_name_that_is_not_utf8_does_not_refuse_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding 4: `runs` refused the whole store over one such name."""
    store = one_run_store(tmp_path / "store.db", "runs", "name", BadText(b"caf\xe9 \x1b]0;o\x07"))
    assert main(["runs", "--json", "--store", str(store.path)]) == 0
    out, err = capsys.readouterr()
    assert [run["name"] for run in json.loads(out)] == ["caf\ufffd \x1b]0;o\x07", "qa [gpt]"]
    assert "1 value could not be read" in err
    assert main(["summary", "r1", "--store", str(store.path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("caf\ufffd ") and "\x1b" not in out


def test_tolerant_text_marks_what_it_replaced() -> None:
    assert type(tolerant_text(b"plain")) is str
    replaced = tolerant_text(b"a\xffb")
    assert replaced == "a\ufffdb" and type(replaced) is not str
    values = Values(Tally(), "r1")
    assert values.text(replaced, ("case", "c1", "output")) == "a\ufffdb"
    assert values.text("fine", ("case", "c1", "input")) == "fine"
    assert values.tally.count("r1") == 1


def test_a_value_read_twice_is_counted_once() -> None:
    tally = Tally()
    for _ in range(2):
        Values(tally, "r1").score("high", ("score", "c1", "exact", "score"))
    Values(tally, "r2").integer(None, ("case", "c9", "idx"))
    assert (tally.count("r1"), tally.count("r2"), tally.count()) == (1, 1, 2)


def big_run_with_bad_text(path: Path) -> HostileStore:
    """3,000 cases; case 2,500's id and one scorer name of case 2,600 are not UTF-8."""
    store = HostileStore(path)
    store.insert("suites", **well_formed("suites"))
    store.insert("runs", **well_formed("runs"))
    store.insert_many(
        "cases",
        [
            well_formed("cases", id=BadText(b"c\xff2500") if i == 2500 else f"c{i:04d}", idx=i)
            for i in range(3000)
        ],
    )
    store.insert_many(
        "scores",
        [
            well_formed(
                "scores",
                id=f"x{i:04d}",
                case_id=f"c{i:04d}",
                scorer_name=BadText(b"judge\xff") if i == 2600 else "exact",
            )
            for i in range(3000)
        ],
    )
    return store


async def test_the_run_index_reads_again_past_text_that_is_not_utf8(tmp_path: Path) -> None:
    store = big_run_with_bad_text(tmp_path / "store.db")
    opened = await RunStore.open(store.path)
    try:
        index = await opened.run_index("r1")
        assert len(index) == 3000 and index.ids[2500] == "c\ufffd2500"
        assert sorted(index.scorer_names) == ["exact", "judge\ufffd"]
        assert opened.unreadable_values("r1") == 2
    finally:
        await opened.close()


def test_a_whole_run_read_for_a_diff_reads_again_past_such_text(tmp_path: Path) -> None:
    store = big_run_with_bad_text(tmp_path / "store.db")
    conn = runload.connect(f"{store.path.resolve().as_uri()}?mode=ro", 2.0)
    try:
        state = runload.read_run(conn, "r1", RunAccumulator("r1")).state()
    finally:
        conn.close()
    assert len(state["ids"]) == 3000 and "c\ufffd2500" in state["ids"]


@pytest.mark.parametrize("fixture", ["real_store", "sample_store"])
async def test_stores_the_package_wrote_count_nothing(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """No false alarm: every read of the real package's store (and the sample data) finds
    every value as stored, and stays on sqlite3's own decoding."""
    path: Path = request.getfixturevalue(fixture)
    await read_everything(path)
    store = await RunStore.open(path)
    try:
        for run in await store.list_runs():
            await store.get_cases((await store.run_index(run.id)).ids)
        assert store.unreadable_values() == 0
        assert store.reads_tolerantly is False
    finally:
        await store.close()
