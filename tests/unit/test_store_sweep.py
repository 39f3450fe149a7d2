"""Issue 11's property-based sweep, at a fixed budget for CI (a longer run:
`python bench/sweep_stores.py --examples 2000`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from tests.storesweep import DrawnStore, check_store, stores

CI_EXAMPLES = 75  # ~30 s with the 2 cores shared (load 4.4); 100 took 40 s


@settings(
    max_examples=CI_EXAMPLES,
    deadline=None,  # a hang is caught by SIGALRM; a slow example on a busy machine is not one
    derandomize=True,  # the same stores on every CI run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(stores())
def test_every_read_command_takes_any_store_the_schema_admits(drawn: DrawnStore) -> None:
    with tempfile.TemporaryDirectory() as folder:
        check_store(drawn, Path(folder) / "store.db")
