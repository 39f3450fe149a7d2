"""Issue 11's property-based sweep at nightly size: generated stores through every headless
read command and every store read (tests/storesweep.py). CI runs a fixed 75 examples
(tests/unit/test_store_sweep.py).

    python bench/sweep_stores.py --examples 2000 [--seed N]

Prints the examples run, the time taken and the load average; on a failure, the smallest
store hypothesis found and the traceback, exit 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, seed, settings

from tests.storesweep import DrawnStore, check_store, stores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one")
    args = parser.parse_args()
    count = 0

    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(stores())
    def sweep(drawn: DrawnStore) -> None:
        nonlocal count
        count += 1
        with tempfile.TemporaryDirectory() as folder:
            check_store(drawn, Path(folder) / "store.db")

    if args.seed is not None:
        sweep = seed(args.seed)(sweep)
    start = time.perf_counter()
    try:
        sweep()
    finally:
        took = time.perf_counter() - start
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"{count} stores (examples tried, shrinking included) in {took:.1f} s; load {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
