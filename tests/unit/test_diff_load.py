"""Reading runs for a diff: worker processes and the in-process thread give the same columns,
failures fall back, cancellation stops the workers; the fast JSON writer is byte-exact."""

from __future__ import annotations

import asyncio
import json
import math
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from evaltui.core.models import JsonText, Run
from evaltui.diff import ColumnsBuilder, DiffOptions, PairBy, RunColumns, compare, fingerprint
from evaltui.diff.jsonout import CHUNK, iter_json, to_json_dict
from evaltui.services import compare as loading
from evaltui.store import RunStore, runload

GPT_QA = "1f6bffdc-edc4-4e84-9911-cc81ff59a494"
CLAUDE_QA = "1342ba1e-a935-4f10-9b2c-7a1ff0fda1e7"
GPT_SUPPORT = "c723c00c-8f1f-4576-85c1-792797cf72fd"
RETRY_GPT = "b2c5363e-9681-44f4-9a4e-e06db1420844"
PAIRS = ((CLAUDE_QA, GPT_QA), (GPT_SUPPORT, RETRY_GPT))


@pytest.fixture
async def store(real_store: Path) -> AsyncIterator[RunStore]:
    opened = await RunStore.open(real_store)
    yield opened
    await opened.close()


def same_columns(a: RunColumns, b: RunColumns) -> None:
    assert a.run_id == b.run_id and a.case_ids == b.case_ids
    for name in ("idx", "digests", "errored", "latency_ms", "tokens_in", "tokens_out"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.min_scores, b.min_scores)
    assert list(a.scores) == list(b.scores)
    for name, column in a.scores.items():
        np.testing.assert_array_equal(column, b.scores[name])
    assert a.totals == b.totals


async def diff_json(store: RunStore, base: str, cand: str) -> dict[str, Any]:
    baseline, candidate = await store.get_run(base), await store.get_run(cand)
    return to_json_dict(await loading.diff_runs(store, baseline, candidate, DiffOptions()))


def test_fingerprint_of_text_and_of_its_bytes() -> None:
    text = '{"input":"caf\u00e9 \u2014 na\u00efve"}'
    assert fingerprint(text) == fingerprint(text.encode()) and len(fingerprint(text)) == 16
    assert fingerprint(None) == fingerprint(b"") != fingerprint("x")


def test_state_round_trip() -> None:
    builder = ColumnsBuilder("r")
    builder.add_cases(
        [
            (3, 1, "c", 5, 2, None, False, b"q"),
            (1, 0, "a", 1, 1, 1, True, "q"),
            (2, 0, "b", "x", 1, 1, False, None),
        ]
    )
    builder.add_scores([(1, "s", 0.25), (3, "t", 1), (3, "s", 0.5), (2, "s", "bad")])
    copy = ColumnsBuilder("other")
    copy.load_state(builder.state())
    same_columns(builder.build(), copy.build())
    built = copy.build()
    assert built.digests[0].tobytes() == fingerprint("q") == built.digests[2].tobytes()
    assert built.digests[1].tobytes() == fingerprint(None)


async def test_worker_reads_what_the_thread_reads(store: RunStore) -> None:
    for run_id in (GPT_QA, CLAUDE_QA, GPT_SUPPORT, RETRY_GPT):
        here = await loading.load_run_columns(store, run_id)
        there = await loading._load_in_worker(store, run_id)
        assert there is not None
        same_columns(here, there)


async def test_diffs_through_workers_are_the_same(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = [await diff_json(store, base, cand) for base, cand in PAIRS]
    spawned: list[list[str]] = []
    command = runload.worker_command

    def recording(*args: Any) -> list[str]:
        spawned.append(command(*args))
        return spawned[-1]

    monkeypatch.setattr(loading, "WORKER_MIN_CASES", 0)
    monkeypatch.setattr(runload, "worker_command", recording)
    assert [await diff_json(store, base, cand) for base, cand in PAIRS] == expected
    assert len(spawned) == 2 * len(PAIRS)


@pytest.mark.parametrize(
    "code",
    [
        "import sys; sys.exit(1)",
        "import sys; sys.stdout.write('not a pickle')",
        "import pickle, sys; sys.stdout.buffer.write(pickle.dumps({'run_id': 'x'}))",
    ],
)
async def test_a_failed_worker_falls_back_to_this_process(
    store: RunStore, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    expected = await diff_json(store, CLAUDE_QA, GPT_QA)
    monkeypatch.setattr(loading, "WORKER_MIN_CASES", 0)
    monkeypatch.setattr(runload, "worker_command", lambda *_: [sys.executable, "-c", code])
    assert await diff_json(store, CLAUDE_QA, GPT_QA) == expected


async def test_cancelling_a_diff_stops_its_workers(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loading, "WORKER_MIN_CASES", 0)
    monkeypatch.setattr(
        runload, "worker_command", lambda *_: [sys.executable, "-c", "import time; time.sleep(60)"]
    )
    baseline, candidate = await store.get_run(CLAUDE_QA), await store.get_run(GPT_QA)
    task = asyncio.create_task(loading.load_pair(store, baseline, candidate))
    me = psutil.Process()
    for _ in range(100):
        await asyncio.sleep(0.05)
        if len(me.children()) == 2:
            break
    assert len(me.children()) == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert me.children() == []


async def test_a_run_against_itself_is_read_once(store: RunStore) -> None:
    run = await store.get_run(GPT_QA)
    base, cand = await loading.load_pair(store, run, run)
    assert base is cand


# ---------------------------------------------------------------------------------- JSON


def make_run(run_id: str) -> Run:
    return Run(
        id=run_id,
        suite_id="suite-1",
        suite_name="suite",
        name=f"suite [{run_id}]",
        model="model",
        config=JsonText.parse(None),
        started_at=0,
        finished_at=1,
        status="completed",
    )


def columns(run_id: str, n: int, seed: int, inputs: list[str]) -> RunColumns:
    rng = np.random.default_rng(seed)
    builder = ColumnsBuilder(run_id)
    builder.add_cases(
        [(i + 1, i, f"{run_id}-{i}", 100 + i, 10, 5, False, inputs[i]) for i in range(n)]
    )
    levels = rng.choice([0.0, 0.25, 0.5, 1.0], size=n)  # repeats: formatted once each
    continuous = rng.random(n)  # all distinct
    rows: list[tuple[int, str, object]] = []
    for i in range(n):
        rows += [
            (i + 1, 'judge %s "q" \u00e9', float(levels[i])),
            (i + 1, "sim", float(continuous[i])),
        ]
    if run_id == "cand":
        rows.append((n - 3, "sim", math.inf))  # a non-finite chunk, written by `json`
    builder.add_scores(rows)
    return builder.build()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the infinite score, in the bootstrap
@pytest.mark.parametrize("pair_by", [PairBy.IDX, PairBy.INPUT])
def test_compact_json_is_json_dumps_of_the_object(pair_by: PairBy) -> None:
    n = 2 * CHUNK + 17
    inputs = [f"input {i}" for i in range(n)]
    shifted = inputs[5:] + inputs[:5]  # by input, candidate idx differ from baseline idx
    diff = compare(
        make_run("base"),
        make_run("cand"),
        columns("base", n, 1, inputs),
        columns("cand", n, 2, shifted if pair_by == PairBy.INPUT else inputs),
        DiffOptions(pair_by=pair_by, resamples=10),
    )
    assert diff.summary.pairing.used == pair_by
    expected = json.dumps(
        to_json_dict(diff), separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    assert "".join(iter_json(diff, indent=False)) == expected + "\n"
    assert json.loads("".join(iter_json(diff, indent=True))) == json.loads(expected)


async def test_quick_read_is_the_full_read_without_inputs_costs_or_errors(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The screen's first look: ids, idx and scores as the full read has them, the rest
    placeholders (`complete` False), and the same numbers as an idx diff without CIs."""
    for run_id in (GPT_QA, CLAUDE_QA, GPT_SUPPORT, RETRY_GPT):
        full = await loading.load_run_columns(store, run_id)
        quick = await loading.load_run_columns(store, run_id, full=False)
        there = await loading._load_in_worker(store, run_id, full=False)
        assert there is not None and full.complete
        for columns in (quick, there):
            assert not columns.complete and columns.case_ids == full.case_ids
            np.testing.assert_array_equal(columns.idx, full.idx)
            np.testing.assert_array_equal(columns.min_scores, full.min_scores)
            assert list(columns.scores) == list(full.scores)
            for name, column in columns.scores.items():
                np.testing.assert_array_equal(column, full.scores[name])
            assert not columns.errored.any() and np.isnan(columns.latency_ms).all()
    monkeypatch.setattr(loading, "WORKER_MIN_CASES", 0)
    for base_id, cand_id in PAIRS:
        base, cand = await store.get_run(base_id), await store.get_run(cand_id)
        quick_diff = await loading.quick_diff_runs(store, base, cand)
        idx_diff = await loading.diff_runs(store, base, cand, loading.QUICK_OPTIONS)
        assert quick_diff.summary.scorers == idx_diff.summary.scorers
        assert quick_diff.summary.verdict == idx_diff.summary.verdict
        assert list(quick_diff.rows()) == list(idx_diff.rows())
