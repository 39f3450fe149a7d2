"""The arguments of `rejudge` and `rerun` (argparse only: building the parser imports none of
the judges, jobs or config, in `evaltui.cli.jobs`)."""

from __future__ import annotations

import argparse
from pathlib import Path

COMMANDS = ("rejudge", "rerun")


def add_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `rejudge` and `rerun` to the main parser's subcommands."""
    for name, help_text in (
        ("rejudge", "judge existing outputs of a run again, into a new run"),
        ("rerun", "regenerate outputs of a run with a task, judge them, into a new run"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("run", metavar="RUN", help="run id or a unique prefix (4+ characters)")
        if name == "rerun":
            sub.add_argument("--task", required=True, metavar="PROFILE", help="task profile")
        sub.add_argument(
            "--judge",
            action="append",
            metavar="PROFILE",
            help="judge profile or built-in judge name (repeat for several; required"
            f"{' unless --errors' if name == 'rejudge' else ''})",
        )
        which = sub.add_mutually_exclusive_group()
        which.add_argument(
            "--failing", action="store_true", help="the failing cases (getFailingCases)"
        )
        which.add_argument("--cases", metavar="LIST", help="idx values, e.g. 1,5-9")
        if name == "rejudge":
            which.add_argument(
                "--errors",
                action="store_true",
                help="retry, in place, the judge errors of a run made by rejudge/rerun"
                " (with the judges it records)",
            )
        sub.add_argument("--scorer", help="with --failing: failing on this scorer only")
        sub.add_argument(
            "--limit", type=int, metavar="N", help="only the first N chosen cases (by idx)"
        )
        sub.add_argument(
            "--allow-errors",
            action="store_true",
            help="exit 0 even when some cases ended in a judge or task error",
        )
        sub.add_argument("--threshold", type=float, help="default: the run's threshold")
        sub.add_argument("--config", type=Path, metavar="FILE", help="an extra config file")
        sub.add_argument("--store", metavar="PATH", help="RunStore file")
        sub.add_argument("--json", action="store_true", help="JSON lines (the default when piped)")
