"""The arguments of `import`, `collect`, `traces` and `trace` (argparse only: building the
parser imports none of their implementations, in `evaltui.cli.traces`)."""

from __future__ import annotations

import argparse

COMMANDS = ("import", "collect", "traces", "trace")
STORE_HELP = "RunStore file (default: $EVALS_DB_PATH, then ./.evals/store.db)"
# The receiver's defaults (evaltui.services.ingest.collector has the same; a test keeps them equal)
DEFAULT_PORT = 4318
DEFAULT_HOST = "127.0.0.1"
DEFAULT_MAX_BODY = 16 << 20  # bytes, after decompression


def _store_option(parser: argparse.ArgumentParser, *, immutable: bool) -> None:
    parser.add_argument("--store", metavar="PATH", help=STORE_HELP)
    if immutable:
        parser.add_argument(
            "--immutable",
            action="store_true",
            help="open with SQLite immutable=1, for a store on a read-only medium with no writer",
        )


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be within 0..65535, got {value}")
    return value


def add_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `import`, `collect`, `traces` and `trace` to the main parser's subcommands."""
    imp = commands.add_parser(
        "import",
        help="import DeepEval test runs and OpenTelemetry (OTLP/JSON) traces into the store",
        description="Import trace files into the store, one transaction per file. Formats are "
        "detected: DeepEval test runs (test_run_*.json, .deepeval/.latest_run_full.json, the "
        "deepeval.db local store), OTLP/JSON documents or JSON lines, OpenTelemetry SDK "
        "to_json spans. A span or "
        "resource attribute evals.case_id (or evals.run_id + evals.case_idx) links a trace "
        "to its case. Importing the same file or span twice adds nothing.",
    )
    imp.add_argument("files", nargs="+", metavar="FILE", help="files to import")
    _store_option(imp, immutable=False)
    imp.add_argument(
        "--create",
        action="store_true",
        help="create the store when it does not exist (without it, a mistyped --store is an "
        "error, not a new empty store)",
    )
    imp.add_argument(
        "--run", metavar="RUN", help="link traces without evals.case_id to cases of this run"
    )
    imp.add_argument(
        "--match",
        choices=("idx", "input"),
        help="with --run: match by the evals.case_idx attribute (default) or by the root "
        "span's input equal to the case's input",
    )
    imp.add_argument("--json", action="store_true", help="print one JSON result per file")

    collect = commands.add_parser(
        "collect",
        help="receive OpenTelemetry traces over OTLP/HTTP into the store",
        description="Listen for OTLP/HTTP trace exports (POST /v1/traces, JSON or protobuf, "
        "optionally gzip) and write each request to the store in one transaction. Point an "
        "exporter at it with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:4318/v1/traces.",
    )
    collect.add_argument("--port", type=_port, default=DEFAULT_PORT, help="default 4318")
    collect.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to bind (default 127.0.0.1; anything else is reachable from the network)",
    )
    collect.add_argument(
        "--max-body-mb",
        type=int,
        default=DEFAULT_MAX_BODY >> 20,
        metavar="MB",
        help="largest accepted request body, decompressed (default 16)",
    )
    _store_option(collect, immutable=False)

    listing = commands.add_parser("traces", help="list traces (of a case or a run)")
    listing.add_argument("--case", metavar="CASE", help="case id or unique prefix")
    listing.add_argument("--run", metavar="RUN", help="run id or unique prefix")
    listing.add_argument("--unlinked", action="store_true", help="only traces without a case")
    _store_option(listing, immutable=True)
    listing.add_argument("--json", action="store_true", help="print JSON")

    one = commands.add_parser("trace", help="print one trace as a span tree")
    one.add_argument("ref", metavar="TRACE_OR_CASE", help="trace id, case id, or a unique prefix")
    _store_option(one, immutable=True)
    one.add_argument("--json", action="store_true", help="print the nested span tree as JSON")


# -- import ------------------------------------------------------------------------------
