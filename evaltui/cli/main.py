"""Command line: `evaltui [PATH]` opens the app; `runs`, `summary`, `failing`, `diff` are its
headless twin.

The headless commands use the same store layer as the app and never import Textual.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from evaltui import __version__
from evaltui.cli import jobs_args, traces_args
from evaltui.core.formatting import percent, when
from evaltui.core.jsonutil import dumps_output
from evaltui.core.models import Run, RunSummary
from evaltui.core.numbers import number_text
from evaltui.core.textsafe import error_text, one_line
from evaltui.store import RunStore, StoreError, find_store_path
from evaltui.store.decode import describe_unreadable

EXIT_BAD_INPUT = 2
COMMANDS = ("runs", "summary", "failing", "diff", *traces_args.COMMANDS, *jobs_args.COMMANDS)
EXIT_REGRESSION = 1


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"threshold must be a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"threshold must be within 0..1, got {value}")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="PATH",
        help="RunStore file (default: $EVALS_DB_PATH, then ./.evals/store.db)",
    )
    parser.add_argument(
        "--immutable",
        action="store_true",
        help="open with SQLite immutable=1, for a store on a read-only medium with no writer",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evaltui",
        description="Triage LLM and agent evaluations in a @deepagents/evals RunStore. "
        "`evaltui [PATH]` opens the app; the subcommands print to stdout.",
    )
    parser.add_argument("--version", action="version", version=f"evaltui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    runs = commands.add_parser("runs", help="list suites and runs")
    _store_options(runs)
    runs.add_argument("--json", action="store_true", help="print JSON")

    for name, help_text in (
        ("summary", "a run's summary, exactly as the package's getRunSummary"),
        ("failing", "a run's failing cases, exactly as the package's getFailingCases"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("run", metavar="RUN", help="run id or a unique prefix (4+ characters)")
        sub.add_argument(
            "--threshold",
            type=_threshold,
            help="pass mark (default: the run's config.threshold, else 0.5)",
        )
        _store_options(sub)
        sub.add_argument("--json", action="store_true", help="print JSON")
    _diff_parser(commands)
    traces_args.add_parsers(commands)
    jobs_args.add_parsers(commands)
    return parser


def _diff_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = commands.add_parser(
        "diff",
        help="compare a candidate run with a baseline run (compareRuns, plus noise and pairing)",
        description="Compare CAND with BASE. A run is an id, a unique id prefix, SUITE@latest "
        "(the latest completed run of the newest suite of that name) or SUITE@latest:MODEL.",
    )
    diff.add_argument("base", metavar="BASE", help="baseline run")
    diff.add_argument("cand", metavar="CAND", help="candidate run")
    output = diff.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="print JSON (compareRuns' keys and evaltui's)"
    )
    output.add_argument(
        "--markdown", action="store_true", help="print a summary for a pull-request comment"
    )
    diff.add_argument(
        "--tolerance",
        type=_non_negative,
        default=0.01,
        help="a |delta| up to this is unchanged (default 0.01, as compareRuns)",
    )
    diff.add_argument(
        "--regression-threshold",
        type=_non_negative,
        default=0.05,
        help="regressed when a scorer's mean delta < -this (default 0.05, as compareRuns)",
    )
    diff.add_argument(
        "--pair-by",
        choices=("auto", "idx", "input"),
        default="auto",
        help="idx as compareRuns, input, or auto: idx unless the inputs at an idx differ",
    )
    diff.add_argument(
        "--threshold",
        type=_threshold,
        help="pass mark for pass/fail flips (default: the baseline's config.threshold, else 0.5)",
    )
    diff.add_argument(
        "--include-derived",
        action="store_true",
        help="let SUITE@latest pick a re-judge or re-run that evaltui wrote (skipped by default)",
    )
    diff.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when compareRuns' rule finds a regression in a scorer of both runs"
        " (0 otherwise, 2 on bad input)",
    )
    _store_options(diff)


def build_app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evaltui",
        description="Open the evaltui app on a RunStore. Subcommands: "
        + ", ".join(COMMANDS)
        + " (see `evaltui COMMAND --help`).",
    )
    parser.add_argument("--version", action="version", version=f"evaltui {__version__}")
    parser.add_argument("path", nargs="?", metavar="PATH", help="the RunStore file to open")
    _store_options(parser)
    parser.add_argument("--run", metavar="RUN", help="open this run (id or unique prefix) at once")
    parser.add_argument(
        "--failing", action="store_true", help="with --run: show only its failing cases"
    )
    parser.add_argument("--threshold", type=_threshold, help="with --run: pass mark to start with")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="a config file read after the usual ones (see Configuration in the README)",
    )
    return parser


# -- formatting ---------------------------------------------------------------------------


def _run_status(run: Run, now_ms: int) -> str:
    return "stale" if run.is_stale(now_ms) else run.status


def print_json(payload: object) -> None:
    """Indented for a person at a terminal; compact (and several times faster) when piped.
    A non-finite number is written as null and named in the record's `nonFinite` key."""
    indent = 2 if sys.stdout.isatty() else None
    print(dumps_output(payload, indent))


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


# -- commands -----------------------------------------------------------------------------


async def _summaries(store: RunStore, runs: Sequence[Run]) -> dict[str, RunSummary]:
    """The stored summary, or getRunSummary for runs that have none (running, failed)."""
    out: dict[str, RunSummary] = {}
    for run in runs:
        out[run.id] = run.summary or await store.run_summary(run.id, run.threshold)
    return out


async def cmd_runs(store: RunStore, args: argparse.Namespace) -> int:
    runs = await store.list_runs()
    summaries = await _summaries(store, runs)
    now_ms = int(time.time() * 1000)
    if args.json:
        spend = await store.run_spend([run.id for run in runs])
        payload = [
            {
                "id": run.id,
                "suite_id": run.suite_id,
                "suite": run.suite_name,
                "name": run.name,
                "model": run.model,
                "status": run.status,
                "stale": run.is_stale(now_ms),
                "started_at": None if "started_at" in run.unreadable else run.started_at,
                "finished_at": run.finished_at,
                "threshold": run.threshold,
                "summary_stored": run.summary is not None,
                "derived": run.derived.to_json() if run.derived is not None else None,
                "summary": summaries[run.id].to_json(),
                # what evaltui's judges and tasks cost this run; null for the package's runs
                "spend": spend[run.id].to_json() if run.id in spend else None,
                # stored values of this run that could not be read as stored (README: Safety)
                "unreadable_values": store.unreadable_values(run.id),
            }
            for run in runs
        ]
        print_json(payload)
        return 0
    if not runs:
        print(f"no runs in {store.path}")
        return 0
    rows = [["RUN", "SUITE", "MODEL", "STATUS", "STARTED", "CASES", "PASS", "MEAN SCORES"]]
    any_derived = any(run.derived is not None for run in runs)
    if any_derived:  # what each re-judge or re-run was made from
        rows[0].append("DERIVED")
    for run in runs:
        summary = summaries[run.id]
        means = " ".join(
            f"{k}={number_text(v, '.2f')}" for k, v in sorted(summary.mean_scores.items())
        )
        rows.append(
            [
                run.id[:8],
                one_line(run.suite_name or "?", 30),
                one_line(run.model, 24),
                _run_status(run, now_ms),
                when(run.started_at),
                str(summary.total_cases),
                percent(summary.pass_rate),
                one_line(means, 60),
            ]
        )
        if any_derived:
            rows[-1].append(one_line(run.derived.label(), 80) if run.derived is not None else "")
    _print_table(rows)
    return 0


async def cmd_summary(store: RunStore, args: argparse.Namespace) -> int:
    run = await store.resolve_run(args.run)
    threshold = args.threshold if args.threshold is not None else run.threshold
    summary = await store.run_summary(run.id, threshold)
    if args.json:
        payload = summary.to_json()
        unreadable = store.unreadable_values(run.id)
        if unreadable:  # only then: a well-formed store's summary is the package's, key for key
            payload["unreadableValues"] = unreadable
        print_json(payload)
        return 0
    print(f"{one_line(run.name, 80)}  ({run.id})  threshold {threshold:g}")
    print(
        f"cases {summary.total_cases}  pass {summary.pass_count}  fail {summary.fail_count}"
        f"  pass rate {percent(summary.pass_rate)}"
    )
    for scorer, mean in sorted(summary.mean_scores.items()):
        print(f"  {one_line(scorer, 40)}: mean {number_text(mean)}")
    print(
        f"latency {summary.total_latency_ms} ms  tokens in {summary.total_tokens_in}"
        f"  out {summary.total_tokens_out}"
    )
    return 0


async def cmd_failing(store: RunStore, args: argparse.Namespace) -> int:
    run = await store.resolve_run(args.run)
    threshold = args.threshold if args.threshold is not None else run.threshold
    failing = await store.failing_cases(run.id, threshold)
    if args.json:
        payload = [case.to_json() for case in failing]
        print_json(payload)
        return 0
    print(f"{len(failing)} failing cases in {one_line(run.name, 80)} below {threshold:g}")
    for case in failing:
        scores = ", ".join(f"{s.scorer_name}={number_text(s.score, '.2f')}" for s in case.scores)
        print(f"  #{case.idx:<6} {case.case_id[:8]}  {one_line(scores, 100)}")
    return 0


async def cmd_diff(store: RunStore, args: argparse.Namespace) -> int:
    from evaltui.diff import DiffOptions, PairBy
    from evaltui.diff.jsonout import iter_json
    from evaltui.diff.report import markdown, text, top_regressed
    from evaltui.services.compare import diff_runs, input_previews, resolve_ref

    baseline = await resolve_ref(store, args.base, include_derived=args.include_derived)
    candidate = await resolve_ref(store, args.cand, include_derived=args.include_derived)
    options = DiffOptions(
        tolerance=args.tolerance,
        regression_threshold=args.regression_threshold,
        pair_by=PairBy(args.pair_by),
        threshold=args.threshold,
    )
    result = await diff_runs(store, baseline, candidate, options)
    if args.json:
        sys.stdout.writelines(iter_json(result, indent=sys.stdout.isatty()))
    elif args.markdown:
        ids = [case.baseline_case_id for case in top_regressed(result) if case.baseline_case_id]
        print(markdown(result, await input_previews(store, ids)), end="")
    else:
        print(text(result), end="")
    regressed = result.summary.regressed_compared  # a scorer of one run only is not compared
    return EXIT_REGRESSION if args.fail_on_regression and regressed else 0


HANDLERS: dict[str, Callable[[RunStore, argparse.Namespace], Awaitable[int]]] = {
    "runs": cmd_runs,
    "summary": cmd_summary,
    "failing": cmd_failing,
    "diff": cmd_diff,
}


async def _headless(args: argparse.Namespace) -> int:
    store = await RunStore.open(find_store_path(args.store), immutable=args.immutable)
    try:
        code = await HANDLERS[args.command](store, args)
        note_unreadable(store.unreadable_values())
        return code
    finally:
        await store.close()


def note_unreadable(count: int) -> None:
    """One line on stderr when some stored values could not be read as stored."""
    if count:
        print(f"evaltui: note: {describe_unreadable(count)}", file=sys.stderr)


async def _check_store(path: Path, immutable: bool, run: str | None) -> None:
    store = await RunStore.open(path, immutable=immutable)
    try:
        await store.list_runs()
        if run is not None:
            await store.resolve_run(run)
    finally:
        await store.close()


def _fail(message: str) -> int:
    print(f"evaltui: error: {error_text(message)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args_list if not a.startswith("-")), None)
    try:
        if first in COMMANDS:
            args = build_parser().parse_args(args_list)
            # A subcommand's implementation is imported only when it runs.
            if args.command in traces_args.COMMANDS:
                from evaltui.cli import traces as cli_traces

                return cli_traces.HANDLERS[args.command](args)
            if args.command in jobs_args.COMMANDS:
                from evaltui.cli import jobs as cli_jobs

                return cli_jobs.HANDLERS[args.command](args)
            return asyncio.run(_headless(args))
        app_parser = build_app_parser()
        app_args = app_parser.parse_args(args_list)
        if app_args.run is None and (app_args.failing or app_args.threshold is not None):
            app_parser.error("--failing and --threshold apply to a run: add --run RUN")
        path = find_store_path(app_args.store or app_args.path)
        asyncio.run(_check_store(path, app_args.immutable, app_args.run))
    except StoreError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return _run_app(path, app_args)


def _run_app(path: Path, args: argparse.Namespace) -> int:
    from evaltui.services.config import Config, ConfigError, load_config
    from evaltui.ui.app import EvalTUI, StartAt

    # Settings are read once, here, and handed down (a broken file only stops jobs).
    config: Config | ConfigError
    try:
        config = load_config(args.config)
    except ConfigError as error:
        if args.config is not None:  # asked for by name: not opened without it
            return _fail(str(error))
        config = error
    start = StartAt(run=args.run, failing_only=args.failing, threshold=args.threshold)
    app = EvalTUI(path, immutable=args.immutable, start=start if args.run else None, config=config)
    app.run()
    if app.fatal_error:
        return _fail(app.fatal_error)
    if app.crash is not None:
        print(f"evaltui: error: {app.crash}", file=sys.stderr)
    return app.return_code or 0  # 1 after a crash (Textual's), never 0
